"""The real-page crops dev set: truth alignment of crops (data/crops.py), its builder
(bench/crops_set.py, `make crops`), how it is scored (evaluate --no-reject) and the inference
levers measured on it (inference.py)."""
from __future__ import annotations

import functools
import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrkit.data.crops import save_crops, truth_labels, truth_positions
from ocrkit.page import Char, Line, Page, Word

REPO = Path(__file__).resolve().parents[1]


def cheapest_labels(read: str, truth: str) -> list:
    """By brute force: per read character, its truth character when every cheapest alignment
    gives it the same one, else None."""
    a, b = read.upper(), truth.upper()

    @functools.lru_cache(None)
    def go(i, j):               # [(cost, (truth index or None per read character))]
        if i == len(a) and j == len(b):
            return [(0, ())]
        out = []
        if i < len(a) and j < len(b):
            out += [(c + (a[i] != b[j]), (j,) + p) for c, p in go(i + 1, j + 1)]
        if i < len(a):
            out += [(c + 1, (None,) + p) for c, p in go(i + 1, j)]
        if j < len(b):
            out += [(c + 1, p) for c, p in go(i, j + 1)]
        return out
    found = go(0, 0)
    best = min(c for c, _ in found)
    cheapest = [p for c, p in found if c == best]
    labels = []
    for i in range(len(a)):
        options = {None if p[i] is None else truth[p[i]] for p in cheapest}
        labels.append(options.pop() if len(options) == 1 else None)
    return labels


def test_truth_labels_are_those_every_cheapest_alignment_agrees_on():
    rng = np.random.default_rng(3)
    for _ in range(300):
        read = "".join(rng.choice(list("ABL"), rng.integers(0, 7)))
        truth = "".join(rng.choice(list("ABLb"), rng.integers(0, 7)))
        assert truth_labels(read, truth) == cheapest_labels(read, truth), (read, truth)
    assert truth_labels("HEXYO", "HELLO") == list("HELLO")        # two sure substitutions
    assert truth_labels("HELOX", "HELLO") == ["H", "E", "L", None, None]
    assert truth_positions("HELO", "HELLO") == [0, 1, 2, 4]        # either L: the first
    assert truth_labels("SHOPPING", "Shopping") == list("Shopping")  # the truth's case


def _page(*lines):
    """A page of lines of (reading, true character) crops; each crop's top-left pixel holds
    its true character's code (0: a crop that is no one character), so a test can tell from
    a written PNG what it really shows."""
    def char(label, true):
        img = np.zeros((32, 32), np.float32)
        img[0, 0] = 1 - (ord(true) if true else 0) / 255        # PNG value (1 - img) * 255
        return Char(label, (0, 0, 1, 1), 0.9, [], img)
    return Page("p.jpg", (10, 10), [Line([Word([char(r, t) for r, t in line])])
                                    for line in lines])


def _written(folder: Path) -> list[tuple[str, str]]:
    """(folder label, true character) of every crop written."""
    out = []
    for f in sorted(folder.rglob("*.png")):
        code = int(np.asarray(Image.open(f))[0, 0])
        out.append((f.parent.name, chr(code) if code else ""))
    return out


def test_truth_only_crops_carry_the_characters_they_show(tmp_path):
    """Misreads, a split, a merge and a junk line: with truth_only, every crop written is
    labelled with the character it really shows, and no label comes from the model."""
    page = _page(
        # HELLO WORLD with its W cut in two halves read V V: neither half is written
        [("H", "H"), ("E", "E"), ("L", "L"), ("L", "L"), ("O", "O"), ("V", ""), ("V", ""),
         ("O", "O"), ("R", "R"), ("L", "L"), ("D", "D")],
        [("T", "T"), ("I", ""), ("T", "T")],                # a logo read as junk: no match
        [("T", "T"), ("H", "H"), ("E", "E"), ("D", "D"), ("0", "O"), ("G", "G")],  # O as 0
        [("F", "F"), ("C", "O"), ("O", "O")])               # a misread the truth labels
    truth = "HELLO WORLD\nTHE DOG\nFOO\n"
    saved = save_crops(page, tmp_path / "a", truth, truth_only=True)
    written = _written(tmp_path / "a")
    assert all(label == true for label, true in written), written
    assert Counter(label for label, _ in written) == Counter("HELLOORLDTHEDOGFOO")
    assert saved == {"written": 18, "from_truth": 18, "unsure": 5}
    # without truth_only the unsure crops keep the model's reading (for fine-tuning)
    saved = save_crops(page, tmp_path / "b", truth)
    assert saved["written"] == 23 and saved["from_truth"] == 18
    assert sorted(p.name for p in (tmp_path / "b" / "V").iterdir()) == [
        "p-001-006.png", "p-001-007.png"]


def test_lines_misread_before_a_match_widen_the_truth_window(tmp_path):
    """A notebook's printed logo read as four junk lines above the writing: the first written
    line is the truth's fourth, past LOOKAHEAD, and must still be matched."""
    page = _page([("X", "")], [("Y", "")], [("Z", "")], [("Q", "")],
                 [(c, c) for c in "HELLO"], [(c, c) for c in "WORLD"])
    saved = save_crops(page, tmp_path, "classmate\nDate\nPage\nHELLO\nWORLD\n", truth_only=True)
    assert saved == {"written": 10, "from_truth": 10, "unsure": 4}


def test_keep_writes_only_the_named_truth_characters(tmp_path):
    page = _page([(c, c) for c in "NAMEGUSTAV"], [(c, c) for c in "AB"])
    keep = {(0, k) for k in range(4, 10)} | {(1, 1)}          # GUSTAV, and B of line 2
    saved = save_crops(page, tmp_path, "Name GUSTAV\nAB\n", truth_only=True, keep=keep)
    assert sorted(label for label, _ in _written(tmp_path)) == sorted("GUSTAVB")
    assert saved["written"] == 7


def _builder():
    spec = importlib.util.spec_from_file_location("crops_set", REPO / "bench" / "crops_set.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_handwritten_words_name_truth_positions():
    builder = _builder()
    keep = builder.keep_set("Patient Information\nFirst Name ALEX\n\nCity AB CD\n",
                            {2: (3,), 4: (2,)})
    assert keep == {(1, k) for k in range(9, 13)} | {(2, 4), (2, 5)}
    assert builder.keep_set("A B\n", None) is None
    assert set(builder.LEFT_OUT) == {"nist_hsf_page"}


def test_crops_target_builds_truth_labelled_class_folders(tmp_path, monkeypatch):
    """`make crops` on a small data folder of generated pages: the page left out is not read,
    a form's printed words are not written, the rest are class folders of the truth's
    characters; the 36-class part links to the digits and capitals."""
    from ocrkit.data.folder import load_folder
    from ocrkit.data.pages import write_page
    builder = _builder()
    data = tmp_path / "data"
    image, _ = write_page("QUICK FOX 42\nJUMPS OVER", data / "pages" / "form.png", seed=5)
    (data / "pages" / "pages.tsv").write_text(
        "name\trepo\tcommit\tpath\tcategory\tchars\tnotes\n"
        "form.png\tr\tc\tp\tcaps_form\t19\t\n"
        "nist_hsf_page.png\tr\tc\tp\tdigits_form\t9\tnot there: never read\n")
    write_page("HI 5", data / "images" / "photo.jpg", seed=6)
    monkeypatch.setitem(builder.HANDWRITTEN, "form", {1: (1, 3), 2: None})  # FOX printed
    out = tmp_path / "out" / "crops"
    result = builder.build(data, out, tmp_path / "out" / "crops36", quiet=True)
    assert result["counts"] == Counter("QUICK42JUMPSOVERHI5")
    assert [r["page"] for r in result["rows"]] == ["form.png", "photo.jpg"]
    assert not (out / "F").exists() and not (out / "X").exists()
    ds = load_folder(tmp_path / "out" / "crops36")
    assert len(ds) == 19 and set(ds.classes) == set("QUICK42JUMPSOVERHI5")
    assert (tmp_path / "out" / "crops.tsv").read_text().count("\n") == 5
    before = sorted(p.name for p in out.rglob("*.png"))
    builder.build(data, out, tmp_path / "out" / "crops36", quiet=True)    # made anew
    assert sorted(p.name for p in out.rglob("*.png")) == before


# -- the inference levers ----------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    from ocrkit import modelfile
    return modelfile.load(modelfile.default_model_path())


def _crops(n=12):
    from ocrkit.data import load_dataset
    return load_dataset("synth62", "test", size=2000).x[:n]


def test_tta_is_deterministic_batch_independent_and_a_distribution(model):
    from ocrkit.inference import tta_maps, tta_proba, warp
    x = _crops()
    p = tta_proba(model, x, 4)
    assert p.shape == (len(x), len(model.classes)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(p, tta_proba(model, x, 4))                 # same seed
    np.testing.assert_allclose(tta_proba(model, x[3:5], 4), p[3:5], atol=1e-6)
    assert not np.allclose(tta_proba(model, x, 4, seed=1), p)
    np.testing.assert_array_equal(tta_proba(model, x, 0), model.predict_proba(x))
    # the mean of the crop's and its warps' readings, each warp a real change of the crop
    maps = tta_maps(4)
    by_hand = (model.predict_proba(x) + sum(model.predict_proba(warp(x, m)) for m in maps)) / 5
    np.testing.assert_allclose(p, by_hand, atol=1e-6)
    assert all(np.abs(warp(x, m) - x).mean() > 0.01 for m in maps)


def test_prior_correction_moves_the_choice_to_the_rarer_class():
    from ocrkit.inference import prior_correct
    proba = np.array([[0.6, 0.4], [0.9, 0.1]], np.float32)
    prior = np.array([0.8, 0.2])            # class 0 four times as frequent in training
    np.testing.assert_array_equal(prior_correct(proba, prior, 0), proba)
    assert prior_correct(proba, prior, 0.25).argmax(1).tolist() == [0, 0]
    half = prior_correct(proba, prior, 0.5)     # 0.6/sqrt(0.8) = 0.67 < 0.4/sqrt(0.2) = 0.89
    assert half.argmax(1).tolist() == [1, 0]
    np.testing.assert_allclose(half.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(half[0], [0.4286, 0.5714], atol=1e-4)
    with pytest.raises(Exception, match="prior"):
        prior_correct(proba, np.array([1.0, 0.0]), 0.5)


def test_training_prior_counts_the_train_split_and_the_rejects(model, emnist_dir, monkeypatch):
    from ocrkit.inference import training_prior
    monkeypatch.setenv("OCRKIT_DATA", str(emnist_dir))
    prior = training_prior(model)
    p = dict(zip(model.classes, prior["prior"]))
    assert prior["source"] == "the emnist62 train split"
    np.testing.assert_allclose(sum(p.values()), 1)
    assert p["~"] == pytest.approx(8092 / 101151, rel=1e-3)          # the 8% rejects
    assert p["0"] > 1.3 * p["O"] and p["1"] > 2 * p["I"]             # the twins' lean


def test_no_reject_reads_each_crop_as_its_best_character():
    """evaluate --no-reject: a crop whose best class is the reject class is read as its best
    character instead, as on a page; without it the reject counts as a misreading."""
    from ocrkit.data.dataset import Dataset
    from ocrkit.metrics import classifier_report

    class Stub:
        kind, source, classes = "classifier", "stub", ("A", "B", "~")

        def predict_proba(self, x):
            return np.array([[0.3, 0.1, 0.6], [0.1, 0.4, 0.5], [0.2, 0.7, 0.1]],
                            np.float32)[:len(x)]

    ds = Dataset(np.zeros((3, 32, 32), np.float32), np.array([0, 1, 0]), ["A", "B"])
    plain = classifier_report(Stub(), ds)
    assert plain["accuracy"] == 0 and plain["reject"]["rejected"] == pytest.approx(2 / 3)
    kept = classifier_report(Stub(), ds, no_reject=True)
    assert kept["predictions"].tolist() == [0, 1, 1] and kept["accuracy"] == pytest.approx(2 / 3)
    assert kept["reject"]["rejected"] == 0


def test_evaluate_no_reject_on_a_crops_folder(tmp_path):
    import json
    from click.testing import CliRunner
    from ocrkit import modelfile
    from ocrkit.cli import main
    page = _page([(c, c) for c in "AB"])
    for c in page.chars:                       # a stroke each, so the folder loads
        c.image[8:24, 14:18] = 1.0
    save_crops(page, tmp_path / "crops", "AB\n", truth_only=True)
    run = CliRunner().invoke(main, ["evaluate", str(modelfile.default_model_path()),
                                    str(tmp_path / "crops"), "--no-reject", "--format", "json"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output)
    assert out["no_reject"] is True and out["n"] == 2 and out["rejected"] == 0
