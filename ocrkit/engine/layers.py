"""Layers: small objects with `params` and `grads` dicts of the same keys.

Every layer has `forward(x, train)` that keeps what `backward` needs in `self.cache`, and
`backward(dout)` that fills `self.grads` and returns the gradient with respect to its input.
Shapes are given as `x: (N, D)`; N is the batch.
"""
from __future__ import annotations

import numpy as np

from ocrkit.engine import init as initialisers
from ocrkit.engine import threads


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}   # state saved with the model, not trained
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
        if not 1 <= units <= 1_000_000:
            raise ValueError(f"a dense layer needs 1 to 1,000,000 units, got {units}")
        self.params["W"] = initialisers.weights(init, in_dim, units, rng).astype(dtype)
        self.params["b"] = np.zeros(units, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=False):
        self.cache = x
        w, b = self.params["W"], self.params["b"]
        y = np.empty((len(x), w.shape[1]), dtype=np.result_type(x, w))

        def part(rows):
            np.matmul(x[rows], w, out=y[rows])
            y[rows] += b
        threads.run(part, len(x), x.shape[1])     # the batch split in the engine's threads
        return y

    def backward(self, dout, need_dx=True):
        x, w, gw = self.cache, self.params["W"], self.grads["W"]
        threads.matmul_tn(x, dout, out=gw)
        np.sum(dout, axis=0, out=self.grads["b"])
        if not need_dx:
            return None
        dx = np.empty((len(dout), len(w)), dtype=np.result_type(dout, w))
        threads.run(lambda rows: np.matmul(dout[rows], w.T, out=dx[rows]), len(dout), len(w))
        return dx

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
        from scipy.special import expit     # here: scipy.special takes 0.3 s to import
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
    """max(x, 0), the batch split in the engine's threads. x: any shape (N, ...)."""

    def forward(self, x, train=False):
        mask, y = np.empty(x.shape, bool), np.empty_like(x)

        def part(rows):
            np.greater(x[rows], 0, out=mask[rows])
            np.multiply(x[rows], mask[rows], out=y[rows])
        threads.run(part, len(x), x[:1].size)
        self.cache = mask
        return y

    def backward(self, dout, need_dx=True):
        dx = np.empty_like(dout)
        threads.run(lambda rows: np.multiply(dout[rows], self.cache[rows], out=dx[rows]),
                    len(dout), dout[:1].size)
        return dx


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


class Dropout(Layer):
    """Inverted dropout: in training each unit is zeroed with probability `rate` and the rest
    scaled by 1 / (1 - rate), so inference is the identity. x: any shape."""

    def __init__(self, rate: float, rng: np.random.Generator | None):
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0 if rng is None else rng.integers(2**63))

    def forward(self, x, train=False):
        if not train or self.rate == 0:
            self.cache = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.cache = keep * np.asarray(1 / (1 - self.rate), dtype=x.dtype)
        return x * self.cache

    def backward(self, dout, need_dx=True):
        return dout if self.cache is None else dout * self.cache


class BatchNorm(Layer):
    """Batch normalisation over every axis but the last (features of a dense layer, channels
    of a convolution). x: (N, ..., C) -> same; gamma, beta: (C,).

    Training normalises by the batch's statistics and keeps running averages (momentum 0.9)
    in `buffers`, which inference uses.
    """

    def __init__(self, channels: int, momentum: float = 0.9, eps: float = 1e-5,
                 dtype=np.float32):
        super().__init__()
        self.momentum, self.eps = float(momentum), float(eps)
        self.params = {"gamma": np.ones(channels, dtype=dtype),
                       "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"mean": np.zeros(channels, dtype=dtype),
                        "var": np.ones(channels, dtype=dtype)}

    def forward(self, x, train=False):
        c = x.shape[-1]
        flat = x.reshape(-1, c)
        if train:
            mean = flat.mean(axis=0)
            var = flat.var(axis=0)
            m = self.momentum
            self.buffers["mean"] *= m
            self.buffers["mean"] += (1 - m) * mean
            self.buffers["var"] *= m
            self.buffers["var"] += (1 - m) * var * (len(flat) / max(len(flat) - 1, 1))
        else:
            mean, var = self.buffers["mean"], self.buffers["var"]
        inv = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        xhat = (flat - mean) * inv
        self.cache = (xhat, inv)
        return (xhat * self.params["gamma"] + self.params["beta"]).reshape(x.shape)

    def backward(self, dout, need_dx=True):
        xhat, inv = self.cache
        d = dout.reshape(xhat.shape)
        np.sum(d * xhat, axis=0, out=self.grads["gamma"])
        np.sum(d, axis=0, out=self.grads["beta"])
        if not need_dx:
            return None
        m = len(d)
        dxhat = d * self.params["gamma"]
        dx = (inv / m) * (m * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
        return dx.reshape(dout.shape)


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
