"""Training-time augmentation: deterministic, shape-preserving, and really warping."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ocrkit.data.augment import Augment

NONE = Augment(scale=(1, 1), aspect=0, rotate=0, shear=0, shift=0, thicken=0, elastic=0,
               noise=0)


def only(**changes) -> Augment:
    """An augmentation doing only `changes`."""
    return replace(NONE, **changes)


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
    shifted = only(shift=3)
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
    bigger = only(scale=(1.25, 1.25))
    out = bigger(x, np.random.default_rng(0))[0]
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert rows[-1] - rows[0] + 1 == pytest.approx(25, abs=1)     # 20 px * 1.25
    turned = only(rotate=(30))
    outs = turned(bar_images(20), np.random.default_rng(0))
    widths = [np.ptp(np.flatnonzero(o.max(axis=0) > 0.5)) for o in outs]
    assert max(widths) > 8                      # a bar tilted by up to 30 degrees is wider


def test_thickening_only_adds_ink():
    x = bar_images()
    thick = only(thicken=1.0)
    out = thick(x, np.random.default_rng(0))
    assert np.all(out >= x - 1e-6) and out.sum() > x.sum()


def test_shear_slants_vertical_strokes_and_keeps_horizontal_ones_level():
    slant = only(shear=0.3)
    out = slant(bar_images(50), np.random.default_rng(0))
    cols = np.arange(32)

    def col_centre(rows_of_img):
        return (rows_of_img * cols).sum() / rows_of_img.sum()

    tilts = [col_centre(o[8]) - col_centre(o[23]) for o in out]      # top minus bottom row
    assert max(np.abs(tilts)) > 3                 # 15 rows apart x up to 0.3 -> up to 4.5 px
    flat = np.zeros((50, 32, 32), np.float32)
    flat[:, 14:18, 6:26] = 1                      # a horizontal bar
    level = slant(flat, np.random.default_rng(0))
    assert np.allclose(level.sum(axis=2)[:, 14:18], flat.sum(axis=2)[:, 14:18], atol=0.5)


def test_elastic_distortion_warps_smoothly_within_its_size():
    x = bar_images(20)
    wobble = only(elastic=1.0, elastic_px=1.5)
    out = wobble(x, np.random.default_rng(0))
    assert not np.allclose(out, x, atol=0.05)
    assert np.allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)), rtol=0.4)    # ink kept
    assert out[:, :, :9].max() < 0.05 and out[:, :, 23:].max() < 0.05         # moved a little
    field = wobble.elastic_field(4, 32, 32, np.random.default_rng(0))
    assert np.sqrt(np.mean(field ** 2)) == pytest.approx(1.5, rel=1e-3)
    assert np.abs(np.diff(field, axis=3)).mean() < 0.4      # smooth (white noise: ~1.7)


def test_noise_stays_in_range_and_hits_only_its_share():
    x = bar_images(400)
    noisy = only(noise=0.5)
    out = noisy(x, np.random.default_rng(0))
    changed = np.any(np.abs(out - x) > 1e-6, axis=(1, 2))
    assert 0.4 < changed.mean() < 0.6
    assert out.min() >= 0 and out.max() <= 1


# -- a page crop's leftovers and writers' styles (issue 16) -----------------------------------
CLASSES = tuple("17AGJZ")


def test_styles_draw_their_strokes_on_their_classes_only():
    # a bar labelled 1, 7, Z, J, G and A: 1, 7, Z and J gain ink where the bar had none, at
    # the place their style puts it (G's spur falls inside a bar); A (no style) is untouched
    x = bar_images(6)
    labels = np.array([CLASSES.index(c) for c in "17ZJGA"])
    out = only(styles=1.0, classes=CLASSES)(x, np.random.default_rng(0), labels=labels)
    added = (out > 0.5) & (x < 0.5)
    assert np.array_equal(out[5], x[5])
    assert all(added[i].sum() >= 6 for i in range(4))
    rows = [np.flatnonzero(added[i].any(1)) for i in range(4)]
    assert rows[1].min() >= 12 and rows[1].max() <= 20       # 7: a bar across the middle
    assert rows[2].min() >= 12 and rows[2].max() <= 20       # Z: the same
    assert rows[3].max() <= 10                                # J: a bar on top
    assert np.all(out >= x - 1e-6)                            # strokes only add ink
    # without labels (an autoencoder's batches, a caller that has none) nothing is drawn
    np.testing.assert_array_equal(only(styles=1.0, classes=CLASSES)(x, np.random.default_rng(0)), x)


def test_crop_leftovers_add_specks_and_stubs_or_fade_the_strokes():
    x = bar_images(60)
    out = only(crops=1.0)(x, np.random.default_rng(0))
    outside = (out > 0.3) & (x == 0)
    faded = (out < x - 0.1).any(axis=(1, 2))
    gained = outside.any(axis=(1, 2))
    assert gained.sum() >= 20 and faded.sum() >= 10           # each kind on about a third
    assert not np.any(gained & faded)                         # one kind a sample
    stub = outside[:, 27:31].sum(axis=(1, 2)) >= 8             # a line under the bar ...
    assert stub.sum() >= 8
    assert not outside[stub, 24:26].any()                     # ... clear of its bottom
    assert out.min() >= 0 and out.max() <= 1
    assert np.array_equal(only(crops=0.0)(x, np.random.default_rng(0)), x)


def test_the_trainer_gives_an_augmentation_that_takes_labels_its_batchs_labels():
    from ocrkit.engine import Adam, Network, SoftmaxCrossEntropy
    from ocrkit.train import Trainer
    seen = []

    class Spy:
        takes_labels = True

        def __call__(self, xb, rng, labels=None):
            seen.append((xb.copy(), np.array(labels)))
            return xb
    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8)).astype(np.float32)
    y = np.arange(40) % 4
    net = Network([{"type": "flatten"}, {"type": "dense", "units": 4, "activation": "softmax"}],
                  (8, 8), np.random.default_rng(0))
    Trainer(net, SoftmaxCrossEntropy(), Adam(0.01), epochs=1, batch_size=16, seed=0,
            augment=Spy()).fit(x, y)
    assert sum(len(lab) for _, lab in seen) == 40
    for xb, lab in seen:        # each batch's labels are its samples' own
        rows = [int(np.flatnonzero((x == s).all(axis=(1, 2)))[0]) for s in xb]
        np.testing.assert_array_equal(lab, y[rows])
