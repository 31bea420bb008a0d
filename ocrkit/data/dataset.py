"""The one dataset type every loader returns, and fixed stratified splits."""
from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np

#: The classes of NIST36, in its order: A-Z then 0-9.
NIST36 = tuple(string.ascii_uppercase + string.digits)

#: The 62 classes of EMNIST ByClass, in its order: 0-9, A-Z, a-z (`emnist62`'s and `synth62`'s).
BYCLASS = tuple(string.digits + string.ascii_uppercase + string.ascii_lowercase)

#: The reject class: "this crop is not one character" (two touching characters, a piece of
#: one, a rule line, a speck). A model trained with `ocrkit train ... --reject SHARE` has it as
#: its last class; it is a reading of a crop, never a character of the text.
REJECT = "~"

#: Canonical character size: upright (row-major) 32x32 float32 in [0, 1], ink 1 on background 0.
SIZE = 32


@dataclass
class Dataset:
    """x: float32 (N, 32, 32) canonical characters; y: int64 (N,) indices into `classes`."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple
    name: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.classes = tuple(self.classes)
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} images but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index, name: str | None = None) -> "Dataset":
        return Dataset(self.x[index], self.y[index], self.classes, name or self.name, dict(self.info))

    def counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=len(self.classes))

    def relabel(self, classes) -> "Dataset":
        """The same samples with labels as indices into `classes` (which must hold ours)."""
        classes = tuple(classes)
        missing = [c for c in self.classes if c not in classes]
        if missing:
            raise ValueError(f"classes {''.join(missing)} are not among {''.join(classes)}")
        lut = np.array([classes.index(c) for c in self.classes], dtype=np.int64)
        return Dataset(self.x, lut[self.y] if len(self.y) else self.y, classes, self.name,
                       dict(self.info))


def class_order(names) -> list[str]:
    """The order a set of class names is kept in: NIST36's when they all are among A-Z and
    0-9, otherwise sorted by code point (for 0-9, A-Z, a-z and REJECT that is ByClass order
    with the reject class last)."""
    names = set(names)
    if names <= set(NIST36):
        return [c for c in NIST36 if c in names]
    return sorted(names)


def stratified_split(y: np.ndarray, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> list[np.ndarray]:
    """Split indices per class into parts of the given fractions, shuffled by `seed`.

    The same labels and seed always give the same split; every class is spread over every part
    in proportion. Returns one sorted index array per fraction.
    """
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1] / np.sum(fractions)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        cuts = np.round(bounds * len(idx)).astype(int)
        for part, chunk in zip(parts, np.split(idx, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts]


def per_class_split(y: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(first, rest): `n` random indices of every class, and all the others (sorted).

    The few-shot protocol: train on n samples a class, test on the rest. A class with n or
    fewer samples goes wholly into `first`.
    """
    rng = np.random.default_rng(seed)
    first, rest = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        first.append(idx[:n])
        rest.append(idx[n:])
    empty = np.zeros(0, np.int64)
    return (np.sort(np.concatenate(first)) if first else empty,
            np.sort(np.concatenate(rest)) if rest else empty)
