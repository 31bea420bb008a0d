"""A Sequential network built from a list of plain layer specs.

A spec is a JSON-able dict, so a model file stores the architecture without pickling classes::

    [{"type": "flatten"},
     {"type": "dense", "units": 64, "activation": "sigmoid"},
     {"type": "dense", "units": 36, "activation": "softmax"}]

Parameters are named "<spec index>.<key>" ("1.W", "1.b", ...).

A ReLU followed by max pooling runs in the other order, pooling first: max(relu(a), relu(b))
= relu(max(a, b)), and the gradient reaches the same input (the window's first maximum, and
none when that maximum is <= 0), so for finite values the result is bit for bit the same
while the ReLU, forward and backward, touches 1/size² of them (docs/BENCHMARKS.md).

Every network is planned before it is built: `plan(specs, input_shape)` works out, with
integers only, the shape of every array it will hold, its output shape and its cost per
sample, and refuses one over the limits below. So a spec list from a stranger (a model file)
or a typo (`--hidden 2000000`) is one clear ValueError instead of gigabytes allocated, and a
model file's arrays can be checked against its architecture before anything is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ocrkit.engine import init as initialisers
from ocrkit.engine import threads
from ocrkit.engine.conv import Columns, Conv2D, MaxPool2D, _hwc, _padding
from ocrkit.engine.layers import (ACTIVATIONS, BatchNorm, Dense, Dropout, Flatten, Layer, ReLU,
                                  Softmax)


def _build_dense(spec, input_shape, rng, dtype):
    if len(input_shape) != 1:
        raise ValueError(f"dense layer needs a flat input, got shape {input_shape}; "
                         "put a flatten layer before it")
    activation = spec.get("activation", "identity")
    init = spec.get("init") or initialisers.default_for(activation)
    dense = Dense(input_shape[0], int(spec["units"]), rng, init=init, dtype=dtype)
    return _then_norm_and_activation(dense, spec, activation, dtype)


def _build_conv(spec, input_shape, rng, dtype):
    """Conv2D [+ BatchNorm, which makes the convolution's bias redundant] + activation."""
    activation = spec.get("activation", "relu")
    conv = Conv2D(input_shape, int(spec["filters"]), rng, kernel=int(spec.get("kernel", 3)),
                  stride=int(spec.get("stride", 1)), padding=spec.get("padding", "same"),
                  init=spec.get("init") or initialisers.default_for(activation),
                  bias=not spec.get("batchnorm"), dtype=dtype)
    return _then_norm_and_activation(conv, spec, activation, dtype)


def _then_norm_and_activation(layer, spec, activation, dtype) -> list:
    """A linear layer, then batch norm over its outputs when the spec asks, then activation."""
    layers = [layer]
    if spec.get("batchnorm"):
        layers.append(BatchNorm(layer.params["W"].shape[-1], dtype=dtype))
    return layers + [_activation(activation)]


def _activation(name):
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")


BUILDERS = {
    "flatten": lambda spec, shape, rng, dtype: [Flatten()],
    "dense": _build_dense,
    "activation": lambda spec, shape, rng, dtype: [_activation(spec["name"])],
    "conv2d": _build_conv,
    "maxpool2d": lambda spec, shape, rng, dtype: [MaxPool2D(shape, int(spec.get("size", 2)))],
    "dropout": lambda spec, shape, rng, dtype: [Dropout(float(spec.get("rate", 0.5)), rng)],
    "batchnorm": lambda spec, shape, rng, dtype: [BatchNorm(int(shape[-1]), dtype=dtype)],
    "columns": lambda spec, shape, rng, dtype: [Columns(shape)],
}


# -- limits and the plan -------------------------------------------------------------------------
MAX_LAYERS = 1000                   # layer specs in one network
MAX_PARAMETERS = 25_000_000         # saved arrays, in values: 100 MB of float32
MAX_SAMPLE_VALUES = 1 << 24         # the largest working array of one sample (64 MB float32)
MAX_MACS = 1_000_000_000            # multiply-adds to run one sample through the network


@dataclass(frozen=True)
class Plan:
    """What a Network of some specs will hold, worked out without allocating it."""

    arrays: dict            # saved array name ("1.W", "2.mean") -> shape
    output_shape: tuple
    values: int             # values in all saved arrays (parameters and buffers)
    sample_values: int      # the largest working array of one sample (im2col windows, outputs)
    macs: int               # multiply-adds for one sample


def _int(spec, key, default=None) -> int:
    value = spec[key] if default is None else spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{spec['type']} layer: {key} {value!r} is not a whole number")
    return int(value)


def _planned(spec, shape):
    """(arrays by key, output shape, largest working array, multiply-adds) of one spec."""
    kind = spec["type"]
    if kind == "flatten":
        n = math.prod(shape)
        return {}, (n,), n, 0
    if kind == "dense":
        if len(shape) != 1:
            raise ValueError(f"dense layer needs a flat input, got shape {shape}; "
                             "put a flatten layer before it")
        units = _int(spec, "units")
        if not 1 <= units <= 1_000_000:
            raise ValueError(f"a dense layer needs 1 to 1,000,000 units, got {units}")
        arrays = {"W": (shape[0], units), "b": (units,)}
        out, work, macs = (units,), shape[0] + units, shape[0] * units
    elif kind == "conv2d":
        h, w, c = _hwc(shape)
        f, k, s = _int(spec, "filters"), _int(spec, "kernel", 3), _int(spec, "stride", 1)
        if s not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {s}")
        if f < 1 or k < 1:
            raise ValueError(f"a convolution needs at least 1 filter of at least 1x1, got "
                             f"{f} filters of {k}x{k}")
        ho, pt, pb = _padding(h, k, s, spec.get("padding", "same"))
        wo, pl, pr = _padding(w, k, s, spec.get("padding", "same"))
        arrays = {"W": (k, k, c, f)} | ({} if spec.get("batchnorm") else {"b": (f,)})
        out = (ho, wo, f)
        work = max(ho * wo * (k * k * c + 1), (h + pt + pb) * (w + pl + pr) * c, ho * wo * f)
        macs = ho * wo * k * k * c * f
    elif kind == "maxpool2d":
        h, w, c = _hwc(shape)
        size = _int(spec, "size", 2)
        if size < 1:
            raise ValueError(f"pooling size must be at least 1, got {size}")
        if h < size or w < size:
            raise ValueError(f"a {size}x{size} pooling needs inputs of at least {size} "
                             f"pixels, got {h}x{w}")
        return {}, (h // size, w // size, c), h * w * c, h * w * c
    elif kind == "columns":
        h, w, c = _hwc(shape)
        return {}, (1, w, h * c), h * w * c, 0
    elif kind == "batchnorm":
        c = shape[-1] if shape else 0
        return dict.fromkeys(("gamma", "beta", "mean", "var"), (c,)), shape, math.prod(shape), 0
    elif kind in ("dropout", "activation"):
        return {}, shape, math.prod(shape), 0
    else:
        raise ValueError(f"unknown layer type {kind!r}; choose from {', '.join(BUILDERS)}")
    if spec.get("batchnorm"):
        arrays |= dict.fromkeys(("gamma", "beta", "mean", "var"), (out[-1],))
    return arrays, out, work, macs


def plan(specs, input_shape) -> Plan:
    """The Plan of a network of `specs` on inputs of `input_shape`; ValueError when the specs
    cannot be built or the network would pass MAX_PARAMETERS, MAX_SAMPLE_VALUES or MAX_MACS."""
    if not isinstance(specs, (list, tuple)) or not all(isinstance(s, dict) for s in specs):
        raise ValueError("the architecture is not a list of layer specs")
    if len(specs) > MAX_LAYERS:
        raise ValueError(f"{len(specs)} layers; a network has at most {MAX_LAYERS:,}")
    shape = tuple(int(d) for d in input_shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"input shape {shape} is empty")
    arrays, values, work, macs = {}, 0, math.prod(shape), 0
    for i, spec in enumerate(specs):
        if "type" not in spec:
            raise ValueError(f"layer spec {i} has no 'type'")
        layer_arrays, shape, layer_work, layer_macs = _planned(spec, shape)
        arrays.update({f"{i}.{k}": v for k, v in layer_arrays.items()})
        values += sum(math.prod(v) for v in layer_arrays.values())
        work, macs = max(work, layer_work), macs + layer_macs
        for what, amount, limit in (("values in its arrays", values, MAX_PARAMETERS),
                                    ("values in one sample's working array", work,
                                     MAX_SAMPLE_VALUES),
                                    ("multiply-adds a sample", macs, MAX_MACS)):
            if amount > limit:
                raise ValueError(f"the network would need {amount:,} {what} (layer {i}, "
                                 f"{spec['type']}); ocrkit's limit is {limit:,}")
    return Plan(arrays, shape, values, work, macs)


class Network:
    """Sequential network.

    x: (N, *input_shape) -> (N, outputs). `forward(x, logits=True)` stops before a final
    softmax, for the fused cross-entropy loss.
    """

    def __init__(self, specs: list[dict], input_shape=(32, 32), rng=None, dtype=np.float32,
                 init: bool = True):
        self.plan = plan(specs, input_shape)         # ValueError before anything is allocated
        self.specs = [dict(s) for s in specs]
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        # init=False: weights start at zero, drawing nothing (set_params follows: a model file)
        rng = None if not init else rng if rng is not None else np.random.default_rng(0)
        self.layers: list[Layer] = []
        self.names: list[str] = []   # parameter-name prefix of each layer ("" when none)
        self.spec_of: list[int] = []  # the spec index each layer was built from
        shape = self.input_shape
        for i, spec in enumerate(self.specs):
            try:
                build = BUILDERS[spec["type"]]
            except KeyError:
                raise ValueError(f"unknown layer type {spec.get('type')!r}; "
                                 f"choose from {', '.join(BUILDERS)}")
            for layer in build(spec, shape, rng, self.dtype):
                at = len(self.layers)
                if isinstance(layer, MaxPool2D) and at and isinstance(self.layers[-1], ReLU):
                    at -= 1     # pool, then ReLU: see the module docstring
                self.layers.insert(at, layer)
                self.names.insert(at, str(i) if layer.params or layer.buffers else "")
                self.spec_of.insert(at, i)
                shape = layer.output_shape(shape)
        self.output_shape = shape
        self.trainable_from = 0     # layers before this index are frozen (fine-tuning)

    # -- running -------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False, logits: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        layers = self.layers
        if logits and isinstance(layers[-1], Softmax):
            layers = layers[:-1]
        self._ran = layers
        for i, layer in enumerate(layers):
            x = layer.forward(x, train and i >= self.trainable_from)   # frozen: inference mode
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate d output through the layers of the last forward. Without
        `input_grad` (training) it stops at the first layer with parameters and skips that
        layer's input gradient, the largest product an MLP would otherwise compute for nothing.
        """
        layers = self._ran
        stop = 0
        if not input_grad:
            stop = next((i for i, layer in enumerate(layers)
                         if layer.params and i >= self.trainable_from), 0)
        for i in range(len(layers) - 1, stop - 1, -1):
            dout = layers[i].backward(dout, need_dx=input_grad or i > stop)
        return dout

    @property
    def batch_limit(self) -> int:
        """A batch size for inference that keeps the largest im2col buffer near 64 MB."""
        per_sample = max([layer.ho * layer.wo * layer.k * layer.k * layer.c
                          for layer in self.layers if isinstance(layer, Conv2D)] or [0])
        return int(np.clip(16_000_000 // max(per_sample, 1), 1, 2048))

    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Outputs (softmax probabilities for a classifier) in batches; x: (N, *input_shape)."""
        batch_size = batch_size or self.batch_limit
        if len(x) == 0:
            return np.zeros((0,) + tuple(self.output_shape), dtype=self.dtype)
        with threads.blas_limited():        # the engine splits its GEMMs among its threads
            return np.concatenate([self.forward(x[i:i + batch_size])
                                   for i in range(0, len(x), batch_size)])

    # -- parameters ----------------------------------------------------------------------------
    def named_param_grads(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The trainable parameters with their names ("1.W", as get_params names them) and
        gradients, frozen layers left out: what an optimiser's `step` takes."""
        return [(f"{name}.{k}", layer.params[k], layer.grads[k])
                for name, layer in list(zip(self.names, self.layers))[self.trainable_from:]
                for k in layer.params]

    def param_grad_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The trainable parameters and their gradients (frozen layers left out)."""
        return [(p, g) for _, p, g in self.named_param_grads()]

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every saved array by name: parameters ("1.W") and buffers ("2.mean" of BatchNorm)."""
        return {f"{name}.{k}": v for name, layer in zip(self.names, self.layers)
                for k, v in {**layer.params, **layer.buffers}.items()}

    def get_params(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers by name ("1.W", ...)."""
        return {k: v.copy() for k, v in self._arrays().items()}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        expected = self._arrays()
        if set(params) != set(expected):
            raise ValueError(f"parameters {sorted(params)} do not match the architecture "
                             f"{sorted(expected)}")
        for key, target in expected.items():
            value = np.asarray(params[key])
            if value.shape != target.shape:
                raise ValueError(f"parameter {key} has shape {value.shape}, "
                                 f"the architecture needs {target.shape}")
            target[...] = value

    @property
    def first_weights(self) -> np.ndarray | None:
        """The first layer's weight array, for plotting (None when there is none)."""
        for layer in self.layers:
            if "W" in layer.params:
                return layer.params["W"]
        return None

    def n_params(self) -> int:
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def freeze_below(self, spec_index: int) -> None:
        """Freeze every layer built from specs before `spec_index`: no updates, inference-mode
        dropout and batch norm, and no backward pass through them."""
        self.trainable_from = next((j for j, i in enumerate(self.spec_of) if i >= spec_index),
                                   len(self.layers))
