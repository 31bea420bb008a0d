"""Training-time augmentation: deterministic, shape-preserving, and really warping."""
from __future__ import annotations

import numpy as np
import pytest

from ocrkit.data.augment import Augment

NONE = Augment(scale=(1, 1), aspect=0, rotate=0, shear=0, shift=0, thicken=0)


def bar_images(n=8):
    x = np.zeros((n, 32, 32), np.float32)
    x[:, 6:26, 14:18] = 1                    # a vertical bar, 20 x 4
    return x


def test_identity_settings_change_nothing():
    x = np.random.default_rng(0).random((5, 32, 32)).astype(np.float32)
    assert np.allclose(NONE(x, np.random.default_rng(1)), x, atol=1e-5)


def test_same_seed_same_variants_and_dtype_kept():
    x = bar_images()
    a = Augment()(x, np.random.default_rng(3))
    b = Augment()(x, np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == x.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, Augment()(x, np.random.default_rng(4)))
    assert a.min() >= 0 and a.max() <= 1 + 1e-6


def test_shifts_stay_within_the_range_and_use_it():
    x = bar_images(200)
    shifted = Augment(scale=(1, 1), aspect=0, rotate=0, shear=0, shift=3, thicken=0)
    out = shifted(x, np.random.default_rng(0))
    rows, cols = np.mgrid[:32, :32]

    def centres(imgs):
        mass = imgs.sum(axis=(1, 2))
        return np.stack([(imgs * rows).sum(axis=(1, 2)), (imgs * cols).sum(axis=(1, 2))], 1) \
            / mass[:, None]

    moved = centres(out) - centres(x)
    assert np.abs(moved).max() <= 3.05
    assert np.abs(moved).max(axis=0).min() > 2.5          # both axes use most of the range
    assert np.allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)), rtol=1e-3)   # ink kept


def test_scale_and_rotation_change_the_extent():
    x = bar_images(1)
    bigger = Augment(scale=(1.25, 1.25), aspect=0, rotate=0, shear=0, shift=0, thicken=0)
    out = bigger(x, np.random.default_rng(0))[0]
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert rows[-1] - rows[0] + 1 == pytest.approx(25, abs=1)     # 20 px * 1.25
    turned = Augment(scale=(1, 1), aspect=0, rotate=(30), shear=0, shift=0, thicken=0)
    outs = turned(bar_images(20), np.random.default_rng(0))
    widths = [np.ptp(np.flatnonzero(o.max(axis=0) > 0.5)) for o in outs]
    assert max(widths) > 8                      # a bar tilted by up to 30 degrees is wider


def test_thickening_only_adds_ink():
    x = bar_images()
    thick = Augment(scale=(1, 1), aspect=0, rotate=0, shear=0, shift=0, thicken=1.0)
    out = thick(x, np.random.default_rng(0))
    assert np.all(out >= x - 1e-6) and out.sum() > x.sum()
