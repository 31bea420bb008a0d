"""Loaders (NIST .mat, EMNIST IDX, folders), splits, and the character normaliser."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.io
from skimage.io import imsave
from skimage.transform import rescale

from ocrkit import modelfile
from ocrkit.data import NIST36, load_dataset, stratified_split
from ocrkit.data.emnist import read_idx
from ocrkit.data.normalize import BOX, normalise_character
from ocrkit.errors import OcrkitError
from ocrkit.metrics import classifier_report


def test_nist_mat_becomes_upright_ink_on_zero(nist26_path):
    ds = load_dataset(str(nist26_path), "all")
    raw = scipy.io.loadmat(str(nist26_path))
    assert ds.classes == NIST36[:26] and len(ds) == 1300
    assert ds.x.dtype == np.float32 and ds.x.shape == (1300, 32, 32)
    upright = raw["valid_data"][7].reshape(32, 32, order="F")     # SOURCES.md: shows upright
    assert np.abs(ds.x[7] - np.clip(1 - upright, 0, 1)).max() < 1e-6, (nist26_path, ds.info)
    assert np.array_equal(ds.y, np.argmax(raw["valid_labels"], 1))
    assert ds.x.min() == 0 and ds.x.max() == 1


def test_emnist_split_is_fixed_disjoint_stratified_and_complete(emnist_dir):
    parts = {s: load_dataset("emnist", s, emnist_dir) for s in ("train", "valid", "test")}
    total = sum(len(p) for p in parts.values())
    assert total == 89264                      # the 36 classes of the ByClass test file
    assert len(parts["train"]) == pytest.approx(0.8 * total, rel=0.01)
    counts = np.array([p.counts() for p in parts.values()])
    assert np.all(counts > 0)                   # every class in every split
    shares = counts / counts.sum(axis=0)
    assert np.allclose(shares[0], 0.8, atol=0.01)
    again = load_dataset("emnist", "test", emnist_dir)
    assert np.array_equal(again.x, parts["test"].x) and np.array_equal(again.y, parts["test"].y)
    flat = {s: {p.tobytes() for p in parts[s].x[:300]} for s in parts}
    assert not (flat["test"] & flat["train"])


def test_emnist_labels_and_orientation_are_converted_once(emnist_dir):
    images_path = emnist_dir / "emnist/emnist-byclass-test-images-idx3-ubyte.gz"
    raw_x = read_idx(images_path)
    raw_y = read_idx(str(images_path).replace("images-idx3", "labels-idx1"))
    ds = load_dataset(str(images_path), "all")
    mapping = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    keep = np.flatnonzero(raw_y < 36)
    assert len(ds) == len(keep)
    for i in (0, 5, 100):
        j = keep[i]
        assert ds.classes[ds.y[i]] == mapping[raw_y[j]]
        assert np.allclose(ds.x[i, 2:30, 2:30], raw_x[j].T / 255)
        assert ds.x[i, :2].max() == 0


def test_idx_errors_are_clear(tmp_path):
    bad = tmp_path / "x-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(np.array([2051, 10, 28, 28], ">i4").tobytes() + b"\0" * 99))
    with pytest.raises(OcrkitError, match="truncated"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(np.array([1234, 1], ">i4").tobytes()))
    with pytest.raises(OcrkitError, match="magic"):
        read_idx(bad)
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(OcrkitError, match="not a readable"):
        read_idx(bad)


def test_stratified_split_is_deterministic_and_proportional():
    y = np.repeat(np.arange(4), [100, 50, 20, 10])
    a = stratified_split(y, (0.8, 0.1, 0.1), seed=5)
    b = stratified_split(y, (0.8, 0.1, 0.1), seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert sorted(np.concatenate(a)) == list(range(len(y)))
    assert list(np.bincount(y[a[0]])) == [80, 40, 16, 8]


def test_unknown_and_missing_datasets_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("OCRKIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OcrkitError, match="unknown dataset 'mnist-ish'"):
        load_dataset("mnist-ish")
    with pytest.raises(OcrkitError, match=r"not found in .*empty.*data fetch emnist"):
        load_dataset("emnist", data_dir=tmp_path / "empty")
    with pytest.raises(OcrkitError, match="nist36_train.mat.*data fetch nist36"):
        load_dataset("nist36")


def test_mat_path_gets_a_fixed_split_for_training(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(36), 10)
    scipy.io.savemat(tmp_path / "s.mat", {"train_data": rng.uniform(size=(360, 1024)),
                                          "train_labels": np.eye(36)[y]})
    parts = [load_dataset(str(tmp_path / "s.mat"), s) for s in ("train", "valid", "test", "all")]
    assert [len(p) for p in parts] == [288, 36, 36, 360]


def test_normaliser_matches_the_canonical_statistics():
    img = np.ones((300, 200))                      # white paper, a dark bar and a dark ring
    img[40:260, 90:115] = 0.1
    yy, xx = np.mgrid[:300, :200]
    out = normalise_character(img)
    assert out.shape == (32, 32) and out.dtype == np.float32 and out.max() == 1
    rows = np.flatnonzero((out > 0.5).any(1))
    assert rows[-1] - rows[0] + 1 == pytest.approx(BOX, abs=2)
    assert np.mean(np.flatnonzero((out > 0.5).any(1))) == pytest.approx(15.5, abs=1.5)
    assert not normalise_character(np.full((50, 50), 0.8)).any()          # blank -> zeros
    rgba = np.zeros((60, 40, 4), np.uint8)
    rgba[..., 3] = 0                                                   # transparent = paper
    rgba[10:50, 15:25] = (0, 0, 0, 255)
    assert normalise_character(rgba).max() == 1
    assert normalise_character((img * 65535).astype(np.uint16)).max() == 1


def _photo_like(canonical, rng):
    """A canonical character as a 'photo': bigger, dark on grey paper, off-centre, noisy."""
    big = rescale(canonical, rng.uniform(2, 4), order=1)
    page = np.full((big.shape[0] + 40, big.shape[1] + 60), 0.85)
    r, c = rng.integers(0, 40), rng.integers(0, 60)
    page[r:r + big.shape[0], c:c + big.shape[1]] -= 0.7 * big
    page += rng.normal(0, 0.02, page.shape)
    return (np.clip(page, 0, 1) * 255).astype(np.uint8)


def test_folder_of_character_photos_scores_like_the_real_split(tmp_path, emnist_dir, hw5_path):
    """Real EMNIST characters saved as photo-like PNGs in class folders and read back through
    the normaliser are recognised about as well (real HW5 network) as the originals."""
    test = load_dataset("emnist", "test", emnist_dir)
    rng = np.random.default_rng(0)
    pick = np.concatenate([np.flatnonzero(test.y == c)[:12] for c in range(36)])
    sample = test.subset(pick)
    for i, (x, y) in enumerate(zip(sample.x, sample.y)):
        folder = tmp_path / sample.classes[y]
        folder.mkdir(exist_ok=True)
        imsave(folder / f"{i}.png", _photo_like(x, rng), check_contrast=False)
    (tmp_path / "A" / "notes.txt").write_text("not an image")
    folder_set = load_dataset(str(tmp_path), "all")
    assert folder_set.classes == NIST36 and len(folder_set) == len(sample)
    model = modelfile.load(hw5_path)
    original = classifier_report(model, sample)["accuracy"]
    photos = classifier_report(model, folder_set)["accuracy"]
    assert photos > 0.5
    assert photos >= original - 0.08, (photos, original)
