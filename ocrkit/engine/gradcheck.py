"""Central finite-difference gradient check, in float64.

    err = check_gradients(net, loss, x, y)
    assert err < 1e-6

The relative error of each entry is |a - n| / max(|a| + |n|, tiny); the maximum over every
parameter entry (and the input) is returned.
"""
from __future__ import annotations

import numpy as np


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-8) -> float:
    num = np.abs(analytic - numeric)
    den = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return float(np.max(num / den)) if num.size else 0.0


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """d f() / d array by central differences, perturbing `array` in place."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat = array.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(network, loss, x: np.ndarray, target: np.ndarray, eps: float = 1e-5) -> dict:
    """Compare backprop with finite differences for every parameter of `network` and its input.

    `network` must be float64. Returns {name: max relative error}, with "input" for dx.
    """
    if network.dtype != np.float64:
        raise ValueError("gradient checks need a float64 network")
    x = np.array(x, dtype=np.float64)

    def value():
        return loss.forward(network.forward(x, train=True, logits=loss.takes_logits), target)

    value()
    dx = network.backward(loss.backward())
    analytic = {"input": dx.copy()}
    for name, layer in zip(network.names, network.layers):
        for k, g in layer.grads.items():
            analytic[f"{name}.{k}"] = g.copy()

    errors = {"input": relative_error(analytic["input"], numeric_gradient(value, x, eps))}
    for name, layer in zip(network.names, network.layers):
        for k, p in layer.params.items():
            key = f"{name}.{k}"
            errors[key] = relative_error(analytic[key], numeric_gradient(value, p, eps))
    return errors
