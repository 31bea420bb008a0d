"""Layers: small objects with `params` and `grads` dicts of the same keys.

Every layer has `forward(x, train)` that keeps what `backward` needs in `self.cache`, and
`backward(dout)` that fills `self.grads` and returns the gradient with respect to its input.
Shapes are given as `x: (N, D)`; N is the batch.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from ocrkit.engine import init as initialisers


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """Fill self.grads; return d input (None when `need_dx` is False and the layer can
        skip that work, as the first layer of a network can)."""
        raise NotImplementedError

    def output_shape(self, input_shape: tuple) -> tuple:
        return input_shape


class Dense(Layer):
    """Fully connected layer `y = x @ W + b`.

    x: (N, D) -> y: (N, units); W: (D, units), b: (units,)
    """

    def __init__(self, in_dim: int, units: int, rng: np.random.Generator,
                 init: str = "xavier", dtype=np.float32):
        super().__init__()
        self.params["W"] = initialisers.weights(init, in_dim, units, rng).astype(dtype)
        self.params["b"] = np.zeros(units, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=False):
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout, need_dx=True):
        x = self.cache
        np.matmul(x.T, dout, out=self.grads["W"])
        np.sum(dout, axis=0, out=self.grads["b"])
        return dout @ self.params["W"].T if need_dx else None

    def output_shape(self, input_shape):
        return (self.params["W"].shape[1],)


class Flatten(Layer):
    """x: (N, *shape) -> (N, prod(shape)); a view, no copy."""

    def forward(self, x, train=False):
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_dx=True):
        return dout.reshape(self.cache)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Sigmoid(Layer):
    """Elementwise 1 / (1 + exp(-x)), computed without overflow."""

    def forward(self, x, train=False):
        y = expit(x)
        self.cache = y
        return y

    def backward(self, dout, need_dx=True):
        y = self.cache
        return dout * y * (1 - y)


class Tanh(Layer):
    def forward(self, x, train=False):
        y = np.tanh(x)
        self.cache = y
        return y

    def backward(self, dout, need_dx=True):
        y = self.cache
        return dout * (1 - y * y)


class ReLU(Layer):
    def forward(self, x, train=False):
        mask = x > 0
        self.cache = mask
        return x * mask

    def backward(self, dout, need_dx=True):
        return dout * self.cache


class Identity(Layer):
    def forward(self, x, train=False):
        return x

    def backward(self, dout, need_dx=True):
        return dout


class Softmax(Layer):
    """Row-wise softmax, x: (N, C) -> (N, C), stable for any logit size.

    Training a classifier uses the fused `SoftmaxCrossEntropy` loss on the logits instead; this
    backward (the Jacobian-vector product) is for using softmax anywhere else.
    """

    def forward(self, x, train=False):
        y = softmax(x)
        self.cache = y
        return y

    def backward(self, dout, need_dx=True):
        y = self.cache
        return y * (dout - np.sum(dout * y, axis=1, keepdims=True))


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "softmax": Softmax,
    "identity": Identity,
}
