"""Architectures as short strings, expanded to the plain layer specs a Network is built from.

    arch_specs("conv32-conv32-pool-conv64-pool-fc128", 36)

Tokens, separated by "-" (every convolution and fc layer is followed by ReLU):

    conv32        3x3 convolution, 32 filters, same padding, stride 1
    conv32k5      5x5 kernel            conv64s2   stride 2        conv32v   valid padding
    conv32bn      with batch normalisation before the ReLU (also fc128bn)
    pool          2x2 max pooling       pool3      3x3
    fc128         dense layer of 128 units
    drop          dropout 0.5           drop0.25   dropout 0.25

A flatten goes in before the first fc layer, and the output layer (softmax over the classes)
is added at the end.
"""
from __future__ import annotations

import re

_CONV = re.compile(r"conv(\d+)(?:k(\d+))?(?:s(\d+))?(v)?(bn)?")
_FC = re.compile(r"fc(\d+)(bn)?")
_POOL = re.compile(r"pool(\d+)?")
_DROP = re.compile(r"drop(?:out)?(0?\.\d+)?")


def mlp_specs(hidden, activation, n_outputs: int, output: str = "softmax") -> list[dict]:
    """flatten -> dense(h, activation) for each h -> dense(n_outputs, output).

    `activation`: one name for every hidden layer, or a sequence of one per hidden layer."""
    hidden = [int(h) for h in hidden]
    names = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    if len(names) != len(hidden):
        raise ValueError(f"{len(names)} activations for {len(hidden)} hidden layers; give one "
                         "for all or one per layer")
    return ([{"type": "flatten"}]
            + [{"type": "dense", "units": h, "activation": a} for h, a in zip(hidden, names)]
            + [{"type": "dense", "units": int(n_outputs), "activation": output}])


def arch_specs(arch: str, n_outputs: int, output: str = "softmax") -> list[dict]:
    """The layer specs of an architecture string (see the module docstring)."""
    specs: list[dict] = []
    flat = False
    tokens = [t.strip().lower() for t in arch.split("-")]
    if not arch.strip() or not all(tokens):
        raise ValueError(f"empty architecture {arch!r}; e.g. conv32-pool-conv64-pool-fc128")
    for token in tokens:
        if m := _CONV.fullmatch(token):
            if flat:
                raise ValueError(f"{token}: a convolution cannot follow a fc layer")
            spec = {"type": "conv2d", "filters": int(m[1]), "kernel": int(m[2] or 3),
                    "stride": int(m[3] or 1), "padding": "valid" if m[4] else "same",
                    "activation": "relu"}
            if m[5]:
                spec["batchnorm"] = True
        elif m := _POOL.fullmatch(token):
            if flat:
                raise ValueError(f"{token}: pooling cannot follow a fc layer")
            spec = {"type": "maxpool2d", "size": int(m[1] or 2)}
        elif m := _FC.fullmatch(token):
            if not flat:
                specs.append({"type": "flatten"})
                flat = True
            spec = {"type": "dense", "units": int(m[1]), "activation": "relu"}
            if m[2]:
                spec["batchnorm"] = True
        elif m := _DROP.fullmatch(token):
            spec = {"type": "dropout", "rate": float(m[1] or 0.5)}
        else:
            raise ValueError(f"unknown layer {token!r} in architecture {arch!r}; use conv32, "
                             "conv32k5, conv32s2, conv32bn, pool, fc128, drop0.25")
        if any(v == 0 for k, v in spec.items() if k in ("filters", "units", "kernel", "size",
                                                          "stride")):
            raise ValueError(f"{token}: sizes must be positive")
        if spec.get("stride", 1) > 2:
            raise ValueError(f"{token}: stride must be 1 or 2")
        specs.append(spec)
    if not flat:
        specs.append({"type": "flatten"})
    specs.append({"type": "dense", "units": int(n_outputs), "activation": output})
    return specs

