"""The procedural generator: canonical characters (`synth`) and hand-printed pages."""
import time

import numpy as np
import pytest
from scipy import ndimage
from click.testing import CliRunner

from ocrkit.data.dataset import BYCLASS, NIST36, SIZE
from ocrkit.data.normalize import stroke_width
from ocrkit.data.pages import page_text, parse_text, render_page, write_page
from ocrkit.data.synth import GLYPHS, PUNCTUATION, X_TOP, _table, render_characters, synth_dataset
from ocrkit.errors import OcrkitError

from conftest import data_file

LOWER = "abcdefghijklmnopqrstuvwxyz"


def ink_boxes(x, level=0.5):
    """(N, 32, 32) -> (N, 4) ink boxes (row0, col0, row1, col1), exclusive ends."""
    mask = x > level
    rows, cols = mask.any(2), mask.any(1)
    r0, c0 = rows.argmax(1), cols.argmax(1)
    r1 = SIZE - rows[:, ::-1].argmax(1)
    c1 = SIZE - cols[:, ::-1].argmax(1)
    return np.stack([r0, c0, r1, c1], 1)


# -- characters ------------------------------------------------------------------------------------

def test_every_class_has_skeletons():
    assert set(GLYPHS) == set(BYCLASS) | set(PUNCTUATION) and len(BYCLASS) == 62
    assert all(len(v) >= 1 for v in GLYPHS.values())


def test_lower_case_proportions_in_the_capitals_frame():
    """Skeletons share one frame (cap top 0, baseline 1): x-height 0.5-0.65 of the cap
    height, ascenders near cap height, descenders below the baseline, dots over i and j."""
    t = _table()
    pts = t["basis"] @ t["ctrl"]                                     # (V, K, 2) drawn points
    assert 0.5 <= 1 - X_TOP <= 0.65
    for c in LOWER:
        for v in np.flatnonzero(t["cls"] == len(NIST36) + LOWER.index(c)):
            y = pts[v, t["stroke"][v] >= 0, 1]
            top, bottom = y.min(), y.max()
            if c in "bdfhklt":
                assert top <= 0.1, (c, top)                           # an ascender
            elif c in "ij":
                assert 0.1 <= top <= 0.2 < X_TOP - 0.1, (c, top)     # the dot, apart
            else:
                assert abs(top - X_TOP) <= 0.05, (c, top)             # x-height
            if c in "gjpqy":
                assert bottom >= 1.3, (c, bottom)                     # a descender
            else:
                assert 0.95 <= bottom <= 1.06, (c, bottom)            # on the baseline


def test_same_seed_same_samples():
    a = render_characters(np.arange(36), np.random.default_rng(7))
    b = render_characters(np.arange(36), np.random.default_rng(7))
    c = render_characters(np.arange(36), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


def test_every_class_rendered_in_range():
    labels = np.repeat(np.arange(36), 4)
    x = render_characters(labels, np.random.default_rng(0))
    assert x.shape == (144, SIZE, SIZE) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_allclose(x.reshape(144, -1).max(1), 1.0)      # peak 1 in every sample
    ink = (x > 0.5).reshape(144, -1).sum(1)
    assert ink.min() > 25                                          # every sample has strokes
    assert (x[:, 0, :].max() < 0.5) and (x[:, :, 0].max() < 0.5)     # nothing cut at the edge


def test_canonical_statistics_match_emnist():
    """Ink box ~22 px on its longer side, strokes ~3.2 px, centred: what EMNIST looks like."""
    x = render_characters(np.tile(np.arange(36), 10), np.random.default_rng(1))
    r0, c0, r1, c1 = ink_boxes(x).T
    side = np.maximum(r1 - r0, c1 - c0)
    assert 20 <= np.median(side) <= 24
    assert np.percentile(side, 10) >= 18 and np.percentile(side, 90) <= 27
    centre_r, centre_c = (r0 + r1 - 1) / 2, (c0 + c1 - 1) / 2
    assert abs(np.median(centre_r) - 15.5) <= 1 and abs(np.median(centre_c) - 15.5) <= 1
    widths = [stroke_width(m) for m in x[::3] > 0.5]
    assert 2.6 <= np.median(widths) <= 4.2
    soft = ((x > 0.25) & (x < 0.9)).sum() / (x > 0.25).sum()
    assert 0.1 < soft < 0.5                                          # anti-aliased, not binary


def test_lower_case_canonical_like_emnist():
    """Each lower-case letter scaled to its own box, as EMNIST's: longer side ~22 px, centred."""
    x = render_characters(np.tile(np.arange(36, 62), 10), np.random.default_rng(1), BYCLASS)
    r0, c0, r1, c1 = ink_boxes(x).T
    side = np.maximum(r1 - r0, c1 - c0)
    assert 20 <= np.median(side) <= 24 and np.percentile(side, 10) >= 18
    assert abs(np.median((r0 + r1 - 1) / 2) - 15.5) <= 1
    assert abs(np.median((c0 + c1 - 1) / 2) - 15.5) <= 1
    # a lower-case o fills its box like an O; an l is tall and thin
    o, big_o, ell = (render_characters(np.full(40, BYCLASS.index(c)), np.random.default_rng(2),
                                       BYCLASS) for c in "oOl")
    assert abs(np.median(ink_boxes(o)[:, 2] - ink_boxes(o)[:, 0])
               - np.median(ink_boxes(big_o)[:, 2] - ink_boxes(big_o)[:, 0])) <= 2
    b = ink_boxes(ell)
    assert np.median((b[:, 3] - b[:, 1]) / (b[:, 2] - b[:, 0])) < 0.6


def test_lower_case_recognised_by_nearest_neighbours_in_emnist():
    """Each synth letter's 5 nearest EMNIST lower-case neighbours (held-out test part of the
    shared ByClass file, 150 a class) vote for its letter: chance is 1/26. EMNIST's own
    letters (20 a class from the train part) against the same neighbours are the yardstick.
    `pytest -s` prints both accuracies."""
    from ocrkit.data import SPLIT_SEED, stratified_split
    from ocrkit.data.emnist import emnist_to_canonical, read_idx
    images = read_idx(data_file("emnist/emnist-byclass-test-images-idx3-ubyte.gz"))
    labels = read_idx(data_file("emnist/emnist-byclass-test-labels-idx1-ubyte.gz")).astype(int)
    test = stratified_split(labels, (0.8, 0.1, 0.1), SPLIT_SEED)[2]
    lower = np.arange(36, 62)
    ref = np.concatenate([test[labels[test] == k][:150] for k in lower])
    ref_x, ref_y = emnist_to_canonical(images[ref]), labels[ref]
    query_y = np.repeat(lower, 20)
    query_x = render_characters(query_y, np.random.default_rng(0), BYCLASS)

    def features(x):
        f = ndimage.gaussian_filter(x, (0, 1, 1)).reshape(len(x), -1)
        f = f - f.mean(1, keepdims=True)
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    def vote(x):
        nearest = np.argsort(-features(x) @ features(ref_x).T, 1)[:, :5]
        return np.array([np.bincount(v, minlength=62).argmax() for v in ref_y[nearest]])

    pred = vote(query_x)
    train = stratified_split(labels, (0.8, 0.1, 0.1), SPLIT_SEED)[0]
    own = np.concatenate([train[labels[train] == k][:20] for k in lower])
    yardstick = (vote(emnist_to_canonical(images[own])) == labels[own]).mean()
    per_letter = np.array([(pred[query_y == k] == k).mean() for k in lower])
    accuracy = (pred == query_y).mean()
    print(f"5-NN among EMNIST lower case: synth {accuracy:.3f}, EMNIST's own {yardstick:.3f}")
    assert accuracy > 0.55 and accuracy > yardstick - 0.1
    assert (per_letter >= 0.3).sum() >= 21, dict(zip(LOWER, per_letter.round(2)))


def test_shapes_belong_to_their_labels():
    rng = np.random.default_rng(2)
    n = 60
    one, m, o, h = (render_characters(np.full(n, NIST36.index(c)), rng) for c in "1MOH")
    aspect = lambda x: np.median([(b[3] - b[1]) / (b[2] - b[0]) for b in ink_boxes(x)])  # noqa
    assert aspect(one) < 0.6 < 1.0 < aspect(m)
    # O is a ring: its middle is empty; H has a bar across its middle
    assert np.mean(o[:, 14:18, 14:18].max((1, 2)) < 0.5) > 0.8
    assert np.mean(h[:, 13:19, 12:20].max((1, 2)) > 0.5) > 0.9


def test_rendering_is_fast():
    labels = np.random.default_rng(0).integers(0, 36, 3000)
    render_characters(labels[:100], np.random.default_rng(0))          # warm the tables
    t0 = time.perf_counter()
    render_characters(labels, np.random.default_rng(0))
    rate = len(labels) / (time.perf_counter() - t0)
    assert rate > 2000, f"{rate:.0f} characters/s"                    # ~15,000 on one core


def test_synth_dataset_balanced_deterministic_and_split():
    train = synth_dataset(360, "train", seed=3)
    assert train.name == "synth" and train.classes == NIST36 and len(train) == 360
    assert (train.counts() == 10).all()
    again = synth_dataset(360, "train", seed=3)
    np.testing.assert_array_equal(train.x, again.x)
    np.testing.assert_array_equal(train.y, again.y)
    valid = synth_dataset(360, "valid", seed=3)
    other_seed = synth_dataset(360, "train", seed=4)
    assert np.abs(train.x - valid.x).mean() > 0.01
    assert np.abs(train.x - other_seed.x).mean() > 0.01
    # a smaller set is a prefix of a larger one (rendered in fixed chunks)
    big = synth_dataset(1100, "train", seed=3)
    np.testing.assert_array_equal(big.x[:360], train.x)
    np.testing.assert_array_equal(big.y[:360], train.y)
    assert big.counts().max() - big.counts().min() <= 1


def test_synth62_dataset_byclass_order_balanced_and_its_own_stream():
    ds = synth_dataset(620, "train", seed=3, name="synth62")
    assert ds.name == "synth62" and ds.classes == BYCLASS and (ds.counts() == 10).all()
    np.testing.assert_array_equal(ds.x, synth_dataset(620, "train", seed=3, name="synth62").x)
    assert ds.x.min() >= 0 and ds.x.max() <= 1
    # labels index BYCLASS: the samples labelled 'm' are wide, those labelled 'l' thin
    width = lambda c: np.median(np.diff(ink_boxes(ds.x[ds.y == BYCLASS.index(c)])[:, 1::2]))  # noqa
    assert width("l") < 12 < 18 < width("m")
    # synth keeps its own stream: the 36 classes of synth62 are not synth's samples
    assert np.abs(synth_dataset(360, "train", seed=3).x[:10] - ds.x[:10]).mean() > 0.01


def test_load_synth62_and_mix_with_36_classes():
    from ocrkit.data import load_dataset
    ds = load_dataset("synth62", "valid", size=1240)
    assert ds.classes == BYCLASS and len(ds) == 124
    mixed = load_dataset("synth+synth62", "valid", size=1240)
    assert mixed.classes == BYCLASS and len(mixed) == 248
    # synth's labels were moved to ByClass indices: its 'A' samples are still labelled 'A'
    assert (mixed.y[:124] < 36).all()
    assert mixed.classes[mixed.y[0]] == NIST36[load_dataset("synth", "valid", size=1240).y[0]]


def test_synth_dataset_all_is_the_three_splits():
    everything = synth_dataset(400, "all", seed=1)
    assert len(everything) == 400
    np.testing.assert_array_equal(everything.x[:320], synth_dataset(320, "train", seed=1).x)
    np.testing.assert_array_equal(everything.x[320:360], synth_dataset(40, "valid", seed=1).x)
    np.testing.assert_array_equal(everything.x[360:], synth_dataset(40, "test", seed=1).x)
    with pytest.raises(ValueError):
        synth_dataset(10, "holdout")


# -- pages -----------------------------------------------------------------------------------------

TEXT = "To do list\n1 make a list\n\n  2 check   it OFF  \n"


def test_page_text_normalised():
    assert parse_text(TEXT) == [["TO", "DO", "LIST"], ["1", "MAKE", "A", "LIST"], None,
                                ["2", "CHECK", "IT", "OFF"]]
    assert page_text(TEXT) == "TO DO LIST\n1 MAKE A LIST\n2 CHECK IT OFF\n"


@pytest.mark.parametrize("text, pattern", [
    ("HELLO\nWORLD!", r"line 2: character '!'"),
    ("ok\n\ncafé", r"line 3: character 'é'"),
    ("A-B", r"line 1: character '-'"),
    ("", "empty"),
    ("  \n\t\n", "empty"),
])
def test_page_text_errors(text, pattern):
    with pytest.raises(OcrkitError, match=pattern):
        render_page(text)


def test_page_size_errors():
    with pytest.raises(OcrkitError, match="height"):
        render_page("ABC", char_height=2)
    with pytest.raises(OcrkitError, match="height"):
        render_page("ABC", char_height=5000)
    with pytest.raises(OcrkitError, match="megapixels"):
        render_page("A" * 200, char_height=300)


def test_page_boxes_match_the_drawing():
    image, lines = render_page(TEXT, seed=5, char_height=40)
    h, w, _ = image.shape
    assert image.dtype == np.uint8 and h * w < 4e6
    assert [ln["text"] for ln in lines] == page_text(TEXT).splitlines()
    grey = image.mean(2)
    paper = ndimage.maximum_filter(grey, 15)                          # the local paper level
    covered = np.zeros_like(grey, bool)
    prev_bottom = 0
    for ln in lines:
        assert [wd["text"] for wd in ln["words"]] == ln["text"].split()
        x_prev = 0
        assert ln["box"][1] >= prev_bottom - 10                       # lines top to bottom
        prev_bottom = ln["box"][3]
        for wd in ln["words"]:
            assert "".join(c["char"] for c in wd["chars"]) == wd["text"]
            for c in wd["chars"]:
                x0, y0, x1, y1 = c["box"]
                assert NIST36[c["label"]] == c["char"]
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
                assert x0 >= x_prev                                   # left to right, apart
                x_prev = x1
                assert 0.3 * 40 < y1 - y0 < 2 * 40                    # about a character high
                assert (grey - paper)[y0:y1, x0:x1].min() < -60        # ink inside the box
                covered[max(y0 - 4, 0):y1 + 4, max(x0 - 4, 0):x1 + 4] = True
    dark = grey < paper - 60
    assert dark[covered].sum() > 100
    assert dark[~covered].sum() <= 0.002 * dark.sum()                 # no ink outside boxes


def test_page_deterministic_and_grey():
    a, la = render_page("AB 12", seed=3, char_height=30)
    b, lb = render_page("AB 12", seed=3, char_height=30)
    c, _ = render_page("AB 12", seed=4, char_height=30)
    np.testing.assert_array_equal(a, b)
    assert la == lb
    assert a.shape != c.shape or np.abs(a.astype(int) - c).mean() > 1
    g, _ = render_page("AB 12", seed=3, char_height=30, colour=False, jpeg_quality=None)
    assert g.ndim == 2 and g.dtype == np.uint8


def test_write_page(tmp_path):
    image, gt = write_page("hello world\nline two", tmp_path / "p.png", seed=1, char_height=30)
    assert image.exists() and gt == tmp_path / "p.gt.txt"
    assert gt.read_text() == "HELLO WORLD\nLINE TWO\n"
    from PIL import Image
    assert Image.open(image).size[0] > 100
    with pytest.raises(OcrkitError, match="png"):
        write_page("abc", tmp_path / "p.gif")


def test_cli_synth(tmp_path):
    from ocrkit.cli.synth import synth
    (tmp_path / "t.txt").write_text("Hi there\n42\n")
    (tmp_path / "bad.txt").write_text("Hi, there\n")
    runner = CliRunner()
    res = runner.invoke(synth, ["page", str(tmp_path / "t.txt"), "-o", str(tmp_path / "p.jpg"),
                                "--seed", "2", "--char-height", "30"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p.jpg").exists()
    assert (tmp_path / "p.gt.txt").read_text() == "HI THERE\n42\n"
    res = runner.invoke(synth, ["page", str(tmp_path / "bad.txt"), "-o", str(tmp_path / "b.png")])
    assert res.exit_code == 1
    assert "line 1: character ','" in res.output and "Traceback" not in res.output
    res = runner.invoke(synth, ["chars", "-o", str(tmp_path / "g.png"), "--n", "36"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "g.png").stat().st_size > 1000


def test_page_text_file_with_byte_order_mark(tmp_path):
    from ocrkit.cli.synth import synth
    (tmp_path / "t.txt").write_bytes(b"\xef\xbb\xbfHi there\n42\n")
    res = CliRunner().invoke(synth, ["page", str(tmp_path / "t.txt"), "-o",
                                     str(tmp_path / "p.png"), "--char-height", "30"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p.gt.txt").read_text(encoding="utf-8") == "HI THERE\n42\n"


def test_write_page_into_new_and_impossible_folders(tmp_path):
    image, gt = write_page("abc", tmp_path / "new" / "sub" / "p.png", char_height=30)
    assert image.exists() and gt.exists()
    (tmp_path / "blocker").write_text("I am a file\n")
    with pytest.raises(OcrkitError, match="blocker"):
        write_page("abc", tmp_path / "blocker" / "p.png", char_height=30)
