"""Synthetic pages for the page pipeline's hard cases (ocrkit.data.pages): mixed case, ruled
paper, touching letters, a sheet on a cluttered table, forms with printed boxes and labels,
skew and drift. Each test checks the truth against the pixels drawn."""
import filecmp
import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage
from skimage.draw import polygon as fill_polygon

from ocrkit.data.pages import page_text, render_page, truth_text, write_page
from ocrkit.errors import OcrkitError

from conftest import REPO

H = 40                                              # cap height of most test pages


def grey_of(image):
    return image.mean(2) if image.ndim == 3 else image.astype(float)


def ink_mask(image, level=60):
    """Pixels clearly darker than the local paper (the maximum over 15 px)."""
    grey = grey_of(image)
    return grey < ndimage.maximum_filter(grey, 15) - level


def chars_of(lines):
    return [c for ln in lines for w in ln["words"] for c in w["chars"]]


def centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def inside(point, box):
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def assert_boxes_hold_their_ink(image, lines, level=60, nothing_else=False):
    """Each character's box is in the image and holds dark ink; no box holds another
    character's centre; with `nothing_else` (a page with nothing printed on it), no dark ink
    lies more than 3 px outside the boxes."""
    h, w = image.shape[:2]
    chars = chars_of(lines)
    dark = ink_mask(image, level)
    covered = np.zeros_like(dark)
    for i, c in enumerate(chars):
        x0, y0, x1, y1 = c["box"]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, c
        assert dark[y0:y1, x0:x1].sum() >= 4, c
        others = [centre(o["box"]) for j, o in enumerate(chars) if j != i]
        assert not any(inside(p, c["box"]) for p in others), c
        covered[max(y0 - 3, 0):y1 + 3, max(x0 - 3, 0):x1 + 3] = True
    if nothing_else:
        assert dark[~covered].sum() <= 0.002 * dark.sum(), dark[~covered].sum()


# -- the default page is unchanged -----------------------------------------------------------------

def test_sample_pages_rerender_byte_for_byte(tmp_path):
    """images/synth_*.jpg come from images/make_samples.py: the upper-case, plain-paper path
    must still draw exactly those bytes (options draw from a stream of their own)."""
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "images/make_samples.py")
    samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(samples)
    for i, (text, seed, height) in enumerate(samples.SAMPLES, 1):
        name = f"synth_{i:02d}"
        image, gt = write_page(text, tmp_path / f"{name}.jpg", seed=seed, char_height=height)
        assert filecmp.cmp(image, REPO / "images" / f"{name}.jpg", shallow=False), name
        assert gt.read_text() == (REPO / "images" / f"{name}.gt.txt").read_text()


def test_an_option_changes_the_paper_not_the_writer():
    """The same seed with an option added: the same letters (their shapes come from the
    seed's first stream), on other paper."""
    _, plain = render_page("HAND 42", seed=5, char_height=H, jpeg_quality=None,
                           return_layout=True)
    _, ruled = render_page("HAND 42", seed=5, char_height=H, jpeg_quality=None, ruled=True,
                           return_layout=True)
    size = lambda b: (b[2] - b[0], b[3] - b[1])                                       # noqa
    assert [size(c["box"]) for c in chars_of(plain["lines"])] == \
        [size(c["box"]) for c in chars_of(ruled["lines"])]
    assert plain["rules"] == [] and plain["margin_line"] is None and plain["clutter"] == []
    assert len(ruled["rules"]) >= 2


# -- mixed case ------------------------------------------------------------------------------------

def test_mixed_case_kept_and_drawn_at_true_size():
    text = "Hello World\nxo XO gp bd"
    image, lines = render_page(text, seed=2, char_height=50, case="mixed", jpeg_quality=None)
    assert [ln["text"] for ln in lines] == ["Hello World", "xo XO gp bd"]
    assert "".join(c["char"] for c in chars_of(lines)) == "HelloWorldxoXOgpbd"
    assert page_text(text, case="mixed") == "Hello World\nxo XO gp bd\n"
    assert page_text(text) == "HELLO WORLD\nXO XO GP BD\n"             # upper by default
    assert_boxes_hold_their_ink(image, lines, nothing_else=True)
    by = {c["char"]: c for c in chars_of(lines[1:])}
    height = {k: c["box"][3] - c["box"][1] for k, c in by.items()}
    bottom = {k: c["box"][3] for k, c in by.items()}
    top = {k: c["box"][1] for k, c in by.items()}
    cap = (height["X"] + height["O"]) / 2
    # x-height about 0.6 of the cap height; x and X sit on one baseline
    assert 0.45 < (height["x"] + height["o"]) / 2 / cap < 0.75
    assert abs(bottom["x"] - bottom["X"]) < 0.12 * cap
    # descenders go below the baseline, ascenders up to the capitals' height
    assert bottom["g"] - bottom["x"] > 0.2 * cap and bottom["p"] - bottom["x"] > 0.2 * cap
    assert abs(top["b"] - top["X"]) < 0.2 * cap and abs(top["d"] - top["X"]) < 0.2 * cap
    # the truth says where the baseline is and how tall capitals are
    for c in chars_of(lines[1:]):
        assert abs(c["cap_height"] - 50) < 12
        if c["char"] in "xoXObd":
            assert abs(c["box"][3] - c["baseline"][1]) < 0.12 * cap, c


def test_mixed_case_written_to_the_ground_truth(tmp_path):
    image, gt = write_page("Hi there\nabc 42", tmp_path / "p.png", seed=1, char_height=30,
                           case="mixed")
    assert gt.read_text() == "Hi there\nabc 42\n"
    with pytest.raises(OcrkitError, match="case"):
        render_page("abc", case="lower")


# -- ruled paper -----------------------------------------------------------------------------------

def test_ruled_paper_rules_where_the_layout_says_and_writing_on_them():
    image, layout = render_page("It was the best\nof times gy\n\nDone", seed=3, char_height=H,
                                case="mixed", ruled=True, margin_line=True, jpeg_quality=None,
                                return_layout=True)
    rules, lines = layout["rules"], layout["lines"]
    assert len(rules) >= 5
    grey = grey_of(image)
    boxes = [c["box"] for c in chars_of(lines)]
    width = rules[0]["width"]
    on, off = [], []
    for r in rules:
        for (xa, ya), (xb, yb) in zip(r["points"], r["points"][1:]):
            x, y = (xa + xb) / 2, (ya + yb) / 2
            if any(b[0] - 3 <= x < b[2] + 3 and b[1] - 3 <= y < b[3] + 3 for b in boxes) or \
                    not (3 <= y < image.shape[0] - 8):
                continue
            on.append(grey[int(round(y)), int(round(x))])
            off.append(grey[int(round(y + 0.5 * 1.2 * H)) % image.shape[0], int(round(x))])
    assert len(on) > 20
    # a rule is darker than the paper half a gap away from it, at nearly every sample
    assert np.mean(np.array(on) < np.array(off) - 8) > 0.9, (width, np.median(on), np.median(off))
    # each written line's baseline sits on a rule
    for ln in lines:
        (x0, y0), _ = ln["baseline"]
        ys = [np.interp(x0, [p[0] for p in r["points"]], [p[1] for p in r["points"]])
              for r in rules]
        assert min(abs(y - y0) for y in ys) < 0.15 * H + width, ln["text"]
    # descenders cross the rule below their line
    g = next(c for c in chars_of(lines) if c["char"] == "g")
    assert g["box"][3] > g["baseline"][1] + 0.2 * H
    # the margin line: a red column left of the writing
    (mx, _), _ = layout["margin_line"]
    col = image[:, int(round(mx))].astype(int)
    away = image[:, int(round(mx)) + 12].astype(int)
    assert mx < min(b[0] for b in boxes)
    assert np.median((col[:, 0] - col[:, 2]) - (away[:, 0] - away[:, 2])) > 10
    assert_boxes_hold_their_ink(image, lines)


def test_tall_letters_span_several_rules():
    image, layout = render_page("TALL", seed=4, char_height=60, ruled=True, rule_gap=0.5,
                                jpeg_quality=None, return_layout=True)
    for c in chars_of(layout["lines"]):
        x = centre(c["box"])[0]
        crossed = [r for r in layout["rules"] if c["box"][1] < np.interp(
            x, [p[0] for p in r["points"]], [p[1] for p in r["points"]]) < c["box"][3]]
        assert len(crossed) >= 1, c
    with pytest.raises(OcrkitError, match="ruled"):
        render_page("TALL", rule_gap=0.5)


# -- touching letters ------------------------------------------------------------------------------

def test_touching_letters_are_one_blob_with_a_box_each():
    kw = dict(seed=6, char_height=50, jpeg_quality=None, colour=False)
    touching, lines = render_page("MANHOLE", touching=1.0, **kw)
    apart, lines_apart = render_page("MANHOLE", **kw)
    chars = chars_of(lines)
    assert [c["touching"] for c in chars] == [False] + [True] * 6
    assert not any(c["touching"] for c in chars_of(lines_apart))
    assert_boxes_hold_their_ink(touching, lines, nothing_else=True)

    def blobs(image, chars):
        """The connected ink component under each character's box centre row."""
        dark = ink_mask(image, 60)
        labels, _ = ndimage.label(dark, np.ones((3, 3)))
        out = []
        for c in chars:
            x0, y0, x1, y1 = c["box"]
            ids = np.bincount(labels[y0:y1, x0:x1].ravel())
            ids[0] = 0
            out.append(int(ids.argmax()))
        return out

    assert len(set(blobs(touching, chars))) == 1                      # one component
    assert len(set(blobs(apart, chars_of(lines_apart)))) == 7          # seven apart
    # neighbouring boxes meet or overlap a little (at most about half a letter)
    for a, b in zip(chars, chars[1:]):
        assert b["box"][0] <= a["box"][2] + 1
        assert a["box"][2] - b["box"][0] < 0.5 * (b["box"][2] - b["box"][0])


def test_touching_is_a_probability():
    _, lines = render_page("ABCDEFGHIJ KLMNOPQRST UVWXYZ", seed=1, char_height=20,
                           touching=0.5, jpeg_quality=None)
    n = sum(c["touching"] for c in chars_of(lines))
    assert 5 <= n <= 18                                               # of 23 pairs
    with pytest.raises(OcrkitError, match="touching"):
        render_page("AB", touching=1.5)


# -- clutter around the sheet ----------------------------------------------------------------------

def polygon_mask(points, shape):
    p = np.asarray(points)
    mask = np.zeros(shape, bool)
    rr, cc = fill_polygon(p[:, 1], p[:, 0], shape=shape)
    mask[rr, cc] = True
    return mask


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clutter_lies_outside_the_sheet(seed):
    image, layout = render_page("On the desk\n42 things", seed=seed, char_height=H,
                                case="mixed", clutter=True, holes=True, skew=4 * seed - 8,
                                jpeg_quality=None, return_layout=True)
    h, w = image.shape[:2]
    assert (layout["width"], layout["height"]) == (w, h)
    sheet = polygon_mask(layout["sheet"], (h, w))
    assert 0.3 < sheet.mean() < 0.95                                  # a table shows around it
    assert np.array(layout["sheet"]).min() >= -1
    assert np.array(layout["sheet"])[:, 0].max() <= w + 1
    assert np.array(layout["sheet"])[:, 1].max() <= h + 1
    assert layout["clutter"]
    for item in layout["clutter"]:
        assert not (polygon_mask(item["polygon"], (h, w)) & sheet).any(), item["kind"]
    grey = grey_of(image)
    core = ndimage.binary_erosion(sheet, iterations=6)
    table = ~ndimage.binary_dilation(sheet, iterations=6)
    # the sheet differs from the table around it
    assert abs(np.median(grey[core]) - np.median(grey[table])) > 25 or \
        np.abs(np.median(image[core], 0) - np.median(image[table], 0)).max() > 25
    for c in chars_of(layout["lines"]):
        x, y = centre(c["box"])
        assert core[int(y), int(x)]                                   # writing on the sheet
    for hole in layout["holes"]:                                      # holes show the table
        x, y = hole["centre"]
        assert sheet[int(y), int(x)]
        assert abs(grey[int(y), int(x)] - np.median(grey[core])) > 25
        assert not any(inside((x, y), c["box"]) for c in chars_of(layout["lines"]))
    assert_boxes_hold_their_ink(image, layout["lines"])


def test_holes_on_plain_paper_show_what_is_behind():
    image, layout = render_page("HOLES", seed=2, char_height=H, holes=True, jpeg_quality=None,
                                return_layout=True)
    grey = grey_of(image)
    assert len(layout["holes"]) >= 2
    for hole in layout["holes"]:
        x, y = hole["centre"]
        assert grey[int(y), int(x)] < np.median(grey) - 60
        assert x + hole["radius"] < min(c["box"][0] for c in chars_of(layout["lines"]))


# -- forms -----------------------------------------------------------------------------------------

LABELS = ["First Name:", "Last Name:", "Student Number:", "City:"]


def test_form_boxes_labels_and_truth(tmp_path):
    text = "GUSTAV\nMAHLER\n0001250981"
    image, layout = render_page(text, seed=4, char_height=H, form=True, labels=LABELS,
                                jpeg_quality=None, return_layout=True)
    lines = layout["lines"]
    assert [ln["text"] for ln in lines] == ["First Name GUSTAV", "Last Name MAHLER",
                                            "Student Number 0001250981", "City"]
    assert [[w["printed"] for w in ln["words"]] for ln in lines] == \
        [[True, True, False], [True, True, False], [True, True, False], [True]]
    assert [ln["printed"] for ln in lines] == [False, False, False, True]
    assert truth_text(lines, printed=False) == "GUSTAV\nMAHLER\n0001250981\n"
    assert layout["text"] == truth_text(lines)
    grey = grey_of(image)
    paper = np.median(grey)
    hand = [c for ln in lines for w in ln["words"] if not w["printed"] for c in w["chars"]]
    cells = [tuple(c["cell"]) for c in hand]
    assert len(set(cells)) == len(cells)                             # one box per character
    for c in hand:
        x0, y0, x1, y1 = c["cell"]
        assert inside(centre(c["box"]), c["cell"]), c
        assert c["cell"] in [b for ln in lines for b in ln["cells"]]
        # the printed box's top and left borders are dark lines in the image (blurred by the
        # camera: the darkest row or column within a pixel of the border)
        t = layout["form"]["border"]
        top = grey[y0 - 1:y0 + t + 1, x0 + 3:x1 - 3].mean(1).min()
        left = grey[y0 + 3:y1 - 3, x0 - 1:x0 + t + 1].mean(0).min()
        assert top < paper - 30 and left < paper - 30, (top, left, paper)
        inner = grey[y0 + t + 3:y1 - t - 3, x0 + t + 3:x1 - t - 3]
        assert np.median(inner) > paper - 15                          # paper inside the box
        assert grey[(y0 + y1) // 2, x0 + 2:x1 - 2].min() < paper - 60 or c["char"] in "1I"
    # the empty boxes of a row are drawn too, and hold nothing but paper inside
    row = lines[0]["cells"]
    x0, y0, x1, y1 = row[-1]
    assert grey[y0 + 4:y1 - 4, x0 + 4:x1 - 4].min() > paper - 40
    # printed labels: left of the boxes, their glyphs dark
    printed = [c for ln in lines for w in ln["words"] if w["printed"] for c in w["chars"]]
    assert "".join(c["char"] for c in printed) == "FirstNameLastNameStudentNumberCity"
    for c in printed:
        assert c["box"][2] <= row[0][0]
    assert_boxes_hold_their_ink(image, lines)
    path, gt = write_page(text, tmp_path / "form.png", seed=4, char_height=H, form=True,
                          labels=LABELS, layout_json=True)
    assert gt.read_text() == ("First Name GUSTAV\nLast Name MAHLER\n"
                              "Student Number 0001250981\nCity\n")
    saved = json.loads((tmp_path / "form.layout.json").read_text())
    assert [ln["text"] for ln in saved["lines"]] == [ln["text"] for ln in lines]


def test_form_characters_sometimes_run_into_their_box():
    text = "\n".join(["ABCDEFGHIJKLM", "NOPQRSTUVWXYZ", "0123456789"] * 2)
    _, layout = render_page(text, seed=5, char_height=24, form=True, jpeg_quality=None,
                            return_layout=True)
    border = layout["form"]["border"]
    reach = [min(c["box"][0] - c["cell"][0], c["cell"][2] - c["box"][2],
                 c["box"][1] - c["cell"][1], c["cell"][3] - c["box"][3])
             for c in chars_of(layout["lines"])]
    on_border = np.mean(np.array(reach) < border)                   # ink on the box's line
    assert 0.1 < on_border < 0.45, on_border


def test_form_options_checked():
    with pytest.raises(OcrkitError, match="form"):
        render_page("AB", labels=["Name:"])
    with pytest.raises(OcrkitError, match="form"):
        render_page("AB", form=True, ruled=True)
    with pytest.raises(OcrkitError, match="cannot be printed"):
        render_page("AB", form=True, labels=["Nämé"])


# -- skew and drift --------------------------------------------------------------------------------

@pytest.mark.parametrize("skew", [-9, 6])
def test_skewed_page_boxes_follow_the_turn(skew):
    text = "A TURNED PAGE\nOF TWO LINES"
    image, lines = render_page(text, seed=8, char_height=H, skew=skew, jpeg_quality=None)
    assert_boxes_hold_their_ink(image, lines, nothing_else=True)
    for ln in lines:
        (x0, y0), (x1, y1) = ln["baseline"]
        slope = np.degrees(np.arctan2(-(y1 - y0), x1 - x0))          # counter-clockwise up
        assert abs(slope - skew) < 3, (slope, skew)
    # paper everywhere, corners included (no table without clutter)
    grey = grey_of(image)
    corners = [grey[:20, :20], grey[:20, -20:], grey[-20:, :20], grey[-20:, -20:]]
    assert min(c.mean() for c in corners) > np.median(grey) - 40


def test_lines_drift():
    """With drift the lines slope (the writer's slope, a little different per line) more
    than a steady hand's, and still do not run into each other."""
    text = "\n".join(["LINES THAT DRIFT AWAY"] * 6)
    slopes = {}
    for drift in (0, 6):
        image, lines = render_page(text, seed=3, char_height=20, drift=drift, jpeg_quality=None)
        ends = np.array([ln["baseline"] for ln in lines], float)      # (lines, 2, 2)
        d = ends[:, 1] - ends[:, 0]
        slopes[drift] = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
        assert_boxes_hold_their_ink(image, lines, nothing_else=True)
    spread = {d: np.abs(s - np.median(s)).mean() for d, s in slopes.items()}
    assert spread[6] > 1.5 * spread[0] and np.abs(slopes[6]).mean() > 2, slopes
    with pytest.raises(OcrkitError, match="drift"):
        render_page("AB", drift=-1)
    with pytest.raises(OcrkitError, match="skew"):
        render_page("AB", skew=90)


# -- the command -----------------------------------------------------------------------------------

def test_cli_synth_page_options_and_layout(tmp_path):
    from ocrkit.cli.synth import synth
    (tmp_path / "t.txt").write_text("Dear diary\nmixed Case 42\n")
    (tmp_path / "f.txt").write_text("ADA\n1815\n")
    runner = CliRunner()
    res = runner.invoke(synth, ["page", str(tmp_path / "t.txt"), "-o", str(tmp_path / "r.jpg"),
                                "--case", "mixed", "--ruled", "--margin-line", "--touching",
                                "0.3", "--clutter", "--holes", "--skew", "5", "--drift", "2",
                                "--char-height", "30", "--layout", "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.gt.txt").read_text() == "Dear diary\nmixed Case 42\n"
    layout = json.loads((tmp_path / "r.layout.json").read_text())
    from PIL import Image
    assert Image.open(tmp_path / "r.jpg").size == (layout["width"], layout["height"])
    assert layout["rules"] and layout["holes"] and layout["clutter"] and layout["margin_line"]
    assert layout["options"]["skew"] == 5 and layout["options"]["case"] == "mixed"
    res = runner.invoke(synth, ["page", str(tmp_path / "f.txt"), "-o", str(tmp_path / "f.png"),
                                "--form", "--label", "Name:", "--label", "Born:",
                                "--char-height", "30"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f.gt.txt").read_text() == "Name ADA\nBorn 1815\n"
    assert not (tmp_path / "f.layout.json").exists()
    res = runner.invoke(synth, ["page", str(tmp_path / "f.txt"), "-o", str(tmp_path / "g.png"),
                                "--label", "Name:"])
    assert res.exit_code == 1 and "Error: printed labels go beside" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(synth, ["page", str(tmp_path / "f.txt"), "-o", str(tmp_path / "g.png"),
                                "--touching", "2"])
    assert res.exit_code == 2 and "--touching" in res.output
