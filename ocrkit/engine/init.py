"""Weight initialisers.

- `xavier`: Glorot/Xavier uniform, U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), as in HW5.
- `he`: He/Kaiming normal, N(0, 2 / fan_in), for ReLU layers.
"""
from __future__ import annotations

import numpy as np


def xavier(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape or (fan_in, fan_out))


def he(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape or (fan_in, fan_out))


INITIALISERS = {"xavier": xavier, "he": he}


def default_for(activation: str) -> str:
    """He for ReLU, Xavier for everything else."""
    return "he" if activation == "relu" else "xavier"


def weights(name: str, fan_in: int, fan_out: int, rng: np.random.Generator | None, shape=None):
    """Initial weights drawn by initialiser `name` from rng; zeros without one (a network
    whose arrays are set next, from a model file, draws nothing)."""
    try:
        fn = INITIALISERS[name]
    except KeyError:
        raise ValueError(f"unknown initialiser {name!r}; choose from {', '.join(INITIALISERS)}")
    return np.zeros(shape or (fan_in, fan_out)) if rng is None else fn(fan_in, fan_out, rng, shape)
