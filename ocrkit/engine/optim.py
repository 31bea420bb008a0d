"""Optimisers and learning-rate schedules.

An optimiser updates a list of (param, grad) array pairs in place and knows nothing about
layers. Its state is a list of arrays per parameter, so it can be saved in a checkpoint as
plain data (`state_dict` / `load_state_dict`).
"""
from __future__ import annotations

import math

import numpy as np


class Optimizer:
    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: list[list[np.ndarray]] = []
        self.t = 0
        self.scales: list[float] | None = None   # per-pair multipliers of lr (fine-tuning)

    def step(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        if not self.state:
            self.state = [self._init_state(p) for p, _ in pairs]
        self.t += 1
        scales = self.scales or [1.0] * len(pairs)
        for (p, g), s, scale in zip(pairs, self.state, scales):
            if self.weight_decay and p.ndim > 1:
                g = g + self.weight_decay * p
            self._update(p, g, s, self.lr * scale)

    def _init_state(self, p):
        return []

    def _update(self, p, g, state, lr):
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"t": self.t, "state": [[a.copy() for a in s] for s in self.state]}

    def load_state_dict(self, d: dict) -> None:
        self.t = int(d["t"])
        self.state = [[np.array(a) for a in s] for s in d["state"]]
        fresh = [self._init_state(s[0]) for s in self.state if s]
        for s, f in zip((s for s in self.state if s), fresh):
            s.extend(f[len(s):])    # checkpoints of older versions lack the scratch buffer


class SGD(Optimizer):
    """p -= lr * g"""

    def _init_state(self, p):
        return [np.empty_like(p)]       # scratch for lr * g, so a step allocates nothing

    def _update(self, p, g, state, lr):
        step = np.multiply(g, lr, out=state[0])
        p -= step


class Momentum(Optimizer):
    """SGD with momentum as in HW5: M = mu * M - lr * g; p += M."""

    def __init__(self, lr, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = float(momentum)

    def _init_state(self, p):
        return [np.zeros_like(p), np.empty_like(p)]   # momentum, scratch

    def _update(self, p, g, state, lr):
        m, step = state
        m *= self.momentum
        m -= np.multiply(g, lr, out=step)
        p += m


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction."""

    def __init__(self, lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _init_state(self, p):
        return [np.zeros_like(p), np.zeros_like(p), np.empty_like(p)]   # m, v, scratch

    def _update(self, p, g, state, lr):
        m, v, s = state[0], state[1], state[-1]
        b1, b2 = self.beta1, self.beta2
        m *= b1
        m += np.multiply(g, 1 - b1, out=s)
        v *= b2
        np.multiply(g, g, out=s)
        s *= 1 - b2
        v += s
        lr_t = lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        np.sqrt(v, out=s)
        s += self.eps
        np.divide(m, s, out=s)
        s *= lr_t
        p -= s


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0) -> Optimizer:
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimiser {name!r}; choose from {', '.join(OPTIMIZERS)}")
    return cls(lr, weight_decay=weight_decay)


def schedule_lr(name: str, base_lr: float, epoch: int, epochs: int,
                step_size: int = 10, gamma: float = 0.5, min_lr: float = 0.0) -> float:
    """Learning rate for `epoch` (0-based) of `epochs`.

    - `constant`: base_lr
    - `step`: base_lr * gamma ** (epoch // step_size)
    - `cosine`: min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2
    """
    if name == "constant":
        return base_lr
    if name == "step":
        return base_lr * gamma ** (epoch // step_size)
    if name == "cosine":
        return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))
    raise ValueError(f"unknown schedule {name!r}; choose from constant, step, cosine")


SCHEDULES = ("constant", "step", "cosine")
