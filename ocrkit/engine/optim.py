"""Optimisers and learning-rate schedules.

An optimiser updates named parameter arrays in place and knows nothing about layers:
`step` takes (name, param, grad) triples (`Network.named_param_grads`). Its state is a list
of arrays per parameter *name*, so it is saved in a checkpoint as plain data
(`state_dict` / `load_state_dict`) and comes back to the same arrays whatever order the
parameters are listed in, and whichever of them are frozen.
"""
from __future__ import annotations

import math

import numpy as np

from ocrkit.engine import threads


def _named(params) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, param, grad) triples; bare (param, grad) pairs are named by position."""
    params = list(params)
    if params and len(params[0]) == 2:
        return [(str(i), p, g) for i, (p, g) in enumerate(params)]
    return [(str(n), p, g) for n, p, g in params]


class Optimizer:
    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: dict[str, list[np.ndarray]] = {}
        self.t = 0
        # per-parameter multipliers of lr by name, 1 for a name not given (fine-tuning)
        self.scales: dict[str, float] = {}
        self._by_position: list | None = None  # an older checkpoint's state, named at first use

    def step(self, params) -> None:
        """One update of every parameter: `params` are (name, param, grad) triples, or
        (param, grad) pairs named by their position."""
        params = _named(params)
        if self._by_position is not None:
            self._adopt_positions([n for n, _, _ in params])
        self.t += 1
        for name, p, g in params:
            s = self.state.get(name)
            if not s:
                s = self.state[name] = self._init_state(p)
            if self.weight_decay and p.ndim > 1:
                g = g + self.weight_decay * p
            self._threaded_update(p, g, s, self.lr * self.scales.get(name, 1.0))

    def _threaded_update(self, p, g, state, lr) -> None:
        """`_update` on contiguous parts of the flattened arrays, in the engine's threads:
        an update is elementwise, so the parts give exactly the whole's result."""
        arrays = [p, g, *state]
        if p.size < 2 * threads.GRAIN or not all(a.flags.c_contiguous for a in arrays):
            self._update(p, g, state, lr)
            return
        flat = [a.reshape(-1) for a in arrays]
        threads.run(lambda part: self._update(*(a[part] for a in flat[:2]),
                                              [a[part] for a in flat[2:]], lr), p.size)

    def _init_state(self, p):
        return []

    def _update(self, p, g, state, lr):
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Plain data: {"t": steps taken, "state": {parameter name: [arrays]}}."""
        return {"t": self.t, "state": {n: [a.copy() for a in s] for n, s in self.state.items()}}

    def load_state_dict(self, d: dict, params=None) -> None:
        """Take the state `state_dict` gave. With `params` (the triples `step` will get), check
        it against them now: ValueError for an array of another shape, or a name that is not
        one of them. A state saved by position (checkpoints of older versions) is named by
        the order of the first `params` seen."""
        self.t = int(d["t"])
        state = d["state"]
        if isinstance(state, dict):
            self.state, self._by_position = {str(n): self._complete(s) for n, s in
                                             state.items()}, None
        else:
            self.state, self._by_position = {}, [self._complete(s) for s in state]
        if params is not None:
            params = _named(params)
            if self._by_position is not None:
                self._adopt_positions([n for n, _, _ in params])
            shapes = {n: p.shape for n, p, _ in params}
            for name, s in self.state.items():
                if name not in shapes:
                    raise ValueError(f"optimizer state for {name!r}, which is not a "
                                     "parameter being trained")
                if any(a.shape != shapes[name] for a in s):
                    raise ValueError(f"optimizer state for {name!r} has shape "
                                     f"{s[0].shape}, the parameter {shapes[name]}")

    def _complete(self, s) -> list[np.ndarray]:
        s = [np.array(a) for a in s]
        if s:       # checkpoints of older versions lack the scratch buffer
            s.extend(self._init_state(s[0])[len(s):])
        return s

    def _adopt_positions(self, names: list[str]) -> None:
        positional, self._by_position = self._by_position, None
        if len(positional) != len(names):
            raise ValueError(f"optimizer state for {len(positional)} parameters, "
                             f"{len(names)} being trained")
        self.state = {n: s for n, s in zip(names, positional) if s}


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
