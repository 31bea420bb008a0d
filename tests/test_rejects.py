"""The reject class's generated crops (data/rejects.py) and the 62-class EMNIST set."""
from __future__ import annotations

import numpy as np
import pytest

from ocrkit.data import BYCLASS, REJECT, load_dataset
from ocrkit.data.normalize import normalise_character
from ocrkit.data.rejects import KINDS, make_rejects, split_with_rejects, with_rejects
from ocrkit.data.synth import synth_dataset


@pytest.fixture(scope="module")
def chars():
    return synth_dataset(400, "train")


def ink_aspect(x: np.ndarray) -> np.ndarray:
    """Width over height of each image's ink box (pixels above 0.3)."""
    ink = x > 0.3
    cols, rows = ink.any(axis=1), ink.any(axis=2)
    width = 32 - np.argmax(cols[:, ::-1], 1) - np.argmax(cols, 1)
    height = 32 - np.argmax(rows[:, ::-1], 1) - np.argmax(rows, 1)
    return width / np.maximum(height, 1)


def test_rejects_are_canonical_and_reproducible(chars):
    x = make_rejects(chars, 120, seed=5)
    assert x.shape == (120, 32, 32) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert (x.reshape(120, -1).max(axis=1) == 1).mean() > 0.8   # normalised: ink peaks at 1
    assert np.array_equal(x, make_rejects(chars, 120, seed=5))
    assert not np.array_equal(x, make_rejects(chars, 120, seed=6))


def test_each_kind_is_what_a_page_crop_of_it_looks_like(chars):
    singles = np.stack([normalise_character(c, ink_on_dark=True) for c in chars.x[:100]])
    single = np.median(ink_aspect(singles))
    pairs = np.median(ink_aspect(make_rejects(chars, 60, 1, {"pair": 1})))
    triples = np.median(ink_aspect(make_rejects(chars, 60, 1, {"triple": 1})))
    assert single < 1 < 1.4 * single < pairs < triples      # wider, the more characters
    rules = make_rejects(chars, 60, 1, {"rule": 1})
    assert np.median(ink_aspect(rules)) > 2 * single         # rule pieces and boxes: wide
    # a part is a piece: less ink than the characters it is cut from, before normalising
    parts = make_rejects(chars, 60, 1, {"part": 1})
    assert np.median(ink_aspect(parts)) < single
    for kind in KINDS:
        assert make_rejects(chars, 10, 2, {kind: 1}).shape == (10, 32, 32), kind


def test_with_rejects_adds_the_last_class_at_its_share(chars):
    mixed = with_rejects(chars, 0.2, seed=3)
    assert mixed.classes == chars.classes + (REJECT,)
    counts = mixed.counts()
    assert counts[-1] == 100 and np.array_equal(counts[:-1], chars.counts())   # 100 of 500
    changed = np.any(mixed.x[:len(chars)] != chars.x, axis=(1, 2))
    assert changed.sum() == 100         # as many real characters through the normaliser
    held_out = split_with_rejects(chars, 0.2, "test")
    assert np.array_equal(held_out.x[:len(chars)], chars.x)    # test characters untouched
    with pytest.raises(ValueError, match="already has the reject class"):
        with_rejects(mixed, 0.1)


def test_emnist62_is_byclass_and_keeps_emnist_splits(emnist_dir):
    test62 = load_dataset("emnist62", "test", emnist_dir)
    test36 = load_dataset("emnist", "test", emnist_dir)
    assert test62.classes == BYCLASS and len(test62) == 11637
    assert np.all(test62.counts() > 0)
    upper = test62.subset(np.flatnonzero(test62.y < 36)).relabel(BYCLASS)
    key = lambda ds: sorted((x.tobytes(), ds.classes[y]) for x, y in zip(ds.x, ds.y))  # noqa
    assert key(upper) == key(test36)     # 0-9 and A-Z in exactly emnist's test split
    train62 = load_dataset("emnist62", "train", emnist_dir)
    assert not ({x.tobytes() for x in train62.x[train62.y < 36][:2000]}
                & {x.tobytes() for x in test36.x})


# -- a model with the reject class, through every command that reads its classes ---------------
def test_merged_accuracy_arithmetic_on_a_hand_made_confusion():
    from ocrkit.metrics import CASE_PAIRS, TWINS, merged_accuracy, reject_scores
    classes = ("0", "1", "O", "I", "l", "o", "A", REJECT)
    cm = np.zeros((8, 8), int)
    cm[0, 0], cm[0, 2], cm[0, 5] = 6, 3, 1        # 0: right 6, as O 3, as o 1
    cm[2, 2], cm[2, 0] = 5, 5                      # O: half as 0
    cm[3, 3], cm[3, 1], cm[3, 4], cm[3, 6] = 2, 4, 2, 2   # I: 1 and l are twins, A is not
    cm[5, 2], cm[5, 5] = 4, 6                      # o: as O 4
    cm[6, 6], cm[6, 7] = 8, 2                      # A: rejected twice
    cm[7, 7], cm[7, 6] = 9, 1                      # rejects: one read as A
    total = cm.sum()                               # 60, 50 of them real characters
    assert total == 60
    assert merged_accuracy(cm, classes, ()) == pytest.approx(np.trace(cm) / total)   # 36/60
    assert merged_accuracy(cm, classes, TWINS) == pytest.approx((36 + 3 + 5 + 4 + 2) / 60)
    assert merged_accuracy(cm, classes, CASE_PAIRS) == pytest.approx((36 + 4) / 60)
    # o/O and O/0 join: 0 -> o counts too
    assert merged_accuracy(cm, classes, TWINS + CASE_PAIRS) == pytest.approx(
        (36 + 3 + 1 + 5 + 4 + 2 + 4) / 60)
    rej = reject_scores(cm, classes)
    assert rej["rejected"] == pytest.approx(2 / 50)
    assert rej["reject_recall"] == pytest.approx(0.9)
    assert rej["reject_precision"] == pytest.approx(9 / 11)


def test_reject_option_is_stored_and_scored_by_evaluate_confusion_inspect_finetune(
        nist26_path, tmp_path):
    import json

    from click.testing import CliRunner

    from ocrkit import modelfile
    from ocrkit.cli import main

    def run(*args):
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = tmp_path / "r.pkl"
    run("train", nist26_path, "--hidden", "32", "--epochs", "2", "--lr", "0.003",
        "--reject", "0.1", "-o", out, "--plots", tmp_path, "-q")
    model = modelfile.load(out)
    assert model.classes == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + (REJECT,)
    assert model.training["reject"] == 0.1
    res = json.loads(run("evaluate", out, nist26_path, "--reject", "0.1", "--merge-twins",
                         "--format", "json"))
    assert res["n"] == 1300 + 144 and res["reject_n"] == 144 and res["reject_share"] == 0.1
    assert {"rejected", "reject_recall", "reject_precision", "accuracy_twins_merged"} <= set(res)
    text = run("evaluate", out, nist26_path)
    assert "rejected (~)" in text and "recall" not in text      # no rejects in the set itself
    assert "~" in run("inspect", out)
    assert "rejected (~)" in run("confusion", out, nist26_path, "--reject", "0.1", "--out",
                                 tmp_path / "cm.png", "-q")
    # fine-tuning on a folder of characters keeps the reject class alive with new rejects
    from PIL import Image
    ds = load_dataset(str(nist26_path), "all")
    for c in "AB":
        (tmp_path / "own" / c).mkdir(parents=True)
        for i in np.flatnonzero(ds.y == ds.classes.index(c))[:20]:
            Image.fromarray(np.uint8(255 - ds.x[i] * 255)).save(tmp_path / "own" / c / f"{i}.png")
    tuned = tmp_path / "t.pkl"
    run("finetune", out, tmp_path / "own", "--epochs", "1", "-o", tuned, "--plots", tmp_path,
        "-q")
    t = modelfile.load(tuned)
    assert t.classes == model.classes and t.training["reject"] == 0.1
    assert t.training["train_samples"] > 32       # 32 characters plus their rejects
