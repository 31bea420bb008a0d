"""Inference levers on a classifier's probabilities: test-time augmentation and class-prior
correction (measured by bench/levers.py; models/MODELS.md, "Inference levers", has what each
does on the dev sets).

    p = tta_proba(model, x, 8)                     # (N, C): the crop and 8 warps, averaged
    p = prior_correct(p, training_prior(model)["prior"], 0.5)
"""
from __future__ import annotations

import numpy as np

from ocrkit.data.augment import bilinear, warp_coordinates
from ocrkit.errors import OcrkitError

# the ranges of the test-time warps: small beside the training augmentation's (scale
# 0.85-1.25, rotation +-10 degrees, slant +-0.2, shift +-2 px), no elastic field, no strokes
TTA_SCALE = (0.92, 1.08)
TTA_ASPECT = 0.05
TTA_ROTATE = 6.0            # degrees
TTA_SHEAR = 0.1
TTA_SHIFT = 1.5             # pixels
CHUNK = 8192                # crops through the network at once


def tta_maps(n: int, seed: int = 0) -> list[tuple]:
    """The n fixed warps (scale, aspect, rotation in radians, slant, (shift rows, cols)) of
    test-time augmentation, drawn from `seed`: the same n warps for every crop and batch, so a
    crop's reading never depends on what else is in the batch."""
    rng = np.random.default_rng(seed)
    maps = []
    for _ in range(n):
        maps.append((rng.uniform(*TTA_SCALE), rng.uniform(-TTA_ASPECT, TTA_ASPECT),
                     np.deg2rad(rng.uniform(-TTA_ROTATE, TTA_ROTATE)),
                     rng.uniform(-TTA_SHEAR, TTA_SHEAR),
                     rng.uniform(-TTA_SHIFT, TTA_SHIFT, 2)))
    return maps


def warp(x: np.ndarray, m) -> np.ndarray:
    """x (N, H, W) under one warp of tta_maps, float32."""
    x = np.asarray(x, np.float32)
    r, c = warp_coordinates(x.shape, *m)
    return bilinear(x, r, c).reshape(x.shape).astype(np.float32, copy=False)


def tta_proba(model, x: np.ndarray, n: int = 0, seed: int = 0) -> np.ndarray:
    """(N, C) probabilities of canonical crops x (N, 32, 32): with n > 0, the mean over the
    crops themselves and their n tta_maps warps (n + 1 passes of the whole batch, in chunks of
    CHUNK); n = 0 is model.predict_proba."""
    if n < 0:
        raise OcrkitError(f"test-time augmentation with {n} copies: give 0 or more")
    x = np.asarray(x, np.float32)
    maps = tta_maps(n, seed)
    parts = []
    for a in range(0, len(x), CHUNK):
        xb = x[a:a + CHUNK]
        total = model.predict_proba(xb).astype(np.float32)
        for m in maps:
            total += model.predict_proba(warp(xb, m))
        parts.append(total / (n + 1))
    if not parts:
        return np.asarray(model.predict_proba(x), np.float32)
    return np.concatenate(parts)


def prior_correct(proba: np.ndarray, prior: np.ndarray, power: float) -> np.ndarray:
    """proba / prior**power, renormalised per row: the training set's class frequencies
    (`prior`, over the model's classes) taken out of the model's probabilities to `power`
    (0: unchanged; 1: as if every class had been equally frequent)."""
    prior = np.asarray(prior, np.float64)
    if prior.shape != (np.shape(proba)[1],) or (prior <= 0).any():
        raise OcrkitError(f"a class prior needs one positive frequency per class "
                          f"({np.shape(proba)[1]}), not shape {prior.shape}")
    if power == 0:
        return np.asarray(proba, np.float32)
    out = np.asarray(proba, np.float64) / prior ** power
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def training_prior(model, data_dir=None) -> dict:
    """The class frequencies of the model's training data: {"prior": (C,) summing to 1 over
    model.classes, "source": how they were found}. Taken from the model's training record
    ("class_counts") when it has one, else counted in the train split of the named dataset it
    was trained on (emnist, emnist62; the generated rejects' count is train_samples less that
    split's size). OcrkitError when neither is possible."""
    from ocrkit.data import REJECT, load_dataset
    training = getattr(model, "training", {}) or {}
    classes = list(model.classes)
    counts = training.get("class_counts")
    if counts:
        prior = np.array([float(counts.get(c, 0)) for c in classes])
        source = "the model's training record"
    else:
        name = training.get("dataset")
        if name not in ("emnist", "emnist62", "nist36"):
            raise OcrkitError(f"{model.source or 'the model'}: no class counts in its training "
                              f"record and no named training set to count ({name!r})")
        train = load_dataset(name, "train", data_dir)
        by_name = dict(zip(train.classes, train.counts()))
        prior = np.array([float(by_name.get(c, 0)) for c in classes])
        if REJECT in classes:
            prior[classes.index(REJECT)] = max(
                float(training.get("train_samples", 0)) - len(train), 0.0)
        source = f"the {name} train split"
    if (prior <= 0).any():
        missing = "".join(c for c, p in zip(classes, prior) if p <= 0)
        raise OcrkitError(f"{model.source or 'the model'}: no training count for {missing}")
    return {"prior": prior / prior.sum(), "source": source}
