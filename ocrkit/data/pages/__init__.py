"""Synthetic photos of hand-printed pages, with the position of every character.

    image, lines = render_page("TO DO LIST\\n1 MAKE A LIST", seed=3)
    write_page(text, "page.jpg", seed=3)          # page.jpg + page.gt.txt
    image, layout = render_page(text, seed=3, ruled=True, return_layout=True)   # + rules etc.

What a page can hold (keyword arguments of render_page and write_page, flags of `ocrkit synth
page`); without any of them a page is upper-case hand-printing on plain paper, drawn exactly as
the first pages were (images/synth_*.jpg are re-rendered byte for byte):

- case="mixed": the text as written, lower case at its true size on the baseline (x-height
  about 0.6 of the cap height, ascenders, descenders); "upper" (default) upper-cases it.
- ruled=True: notebook rules (1-3 px, light blue, grey or violet; slightly turned and bowed),
  each written line's baseline on a rule, descenders and tall letters crossing the rules;
  rule_gap: the distance between rules in cap heights (default drawn in 1.35-2.0; below 1 the
  letters span more than one rule); margin_line=True: a red margin line left of the writing.
- touching=p: each neighbouring pair of letters in a word touches with probability p: placed
  by their ink profiles so that the strokes meet or overlap by up to half a pen width.
- clutter=True: the sheet, with room around it, lies on a table (wood, dark or grey desk,
  cloth) with its shadow; paper scraps, a pen or a dark object at the frame's edges (never on
  the sheet); a broad shadow across the scene. holes=True: punch holes at the sheet's left.
- form=True: one printed box per character, a row of boxes per line (a blank line is an empty
  field), the hand-printed characters inside, one in five running into its box's border;
  labels=["First Name:", ...]: printed labels left of the rows, one per line (more labels than
  lines print labels beside empty fields). Punctuation in labels is drawn but is not text.
- skew=degrees: the whole sheet turned (counter-clockwise as seen; about +-10 is what phones
  give); drift=degrees: lines that slope (the writer's slope and each line's own, std `drift`
  in all) and bow, never running into each other.

Randomness the first pages used comes from `seed` in the same order as before; the options
draw from a second stream of the same seed, so the same seed with an option added gives the
same writer and letters on other paper.

`lines` holds, per written line, its `text`, `box`, `words`, `printed` (True when every word is
printed), `baseline` ((x0, y0), (x1, y1)) in image pixels, `cap_height` and `x_height` in
pixels, and on forms `cells` (the boxes of its printed boxes); per word its `text`, `box`,
`chars` and `printed`; per character `char` (case as written), `label` (index into NIST36 of
the upper-cased character), `box` = (x0, y0, x1, y1) in image pixels, x1 and y1 exclusive: the
box of the ink the character left (pen or print ink above half strength), `baseline` (x, y)
the point on its baseline below it, `cap_height` in pixels, and `touching` (its ink touches
the previous character's) on free and ruled paper, or `cell` (its printed box) on forms.
With `return_layout=True` render_page returns (image, layout): the JSON-ready dict that
`write_page(..., layout_json=True)` writes as <stem>.layout.json: the image's size, seed,
options and text, `sheet` (its corners in image pixels), `rules` ([{points, width}] polylines
in image pixels), `margin_line`, `form` ({border}: the width of the printed boxes' lines),
`holes` ([{centre, radius}]), `clutter` ([{kind, polygon}]) and `lines`.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ocrkit.data.dataset import NIST36
from ocrkit.data.pages.layout import Options, _union, layout_page
from ocrkit.data.pages.paper import first_rule, rule_y
from ocrkit.data.pages.photo import INKS, photograph, to_image, to_sheet
from ocrkit.data.synth import CLASSES
from ocrkit.errors import OcrkitError

__all__ = ["render_page", "write_page", "parse_text", "page_text", "truth_text", "INKS", "CASES"]

ALPHABET = frozenset(NIST36)
CASES = ("upper", "mixed")
MIN_HEIGHT, MAX_HEIGHT = 12, 400        # character height in pixels, accepted range
MAX_PIXELS = 40e6                        # refuse pages larger than this
MAX_SKEW = 45.0                          # degrees
OPTIONS_STREAM = 12                      # the options' random stream: default_rng([seed, 12])


def parse_text(text: str, case: str = "upper") -> list[list[str] | None]:
    """Page text -> lines of words; None for a blank line between written lines.

    case "upper": lower case is upper-cased; "mixed": kept. Spaces and tabs separate words,
    newlines lines. Any other character is an OcrkitError naming it and its line; so is a text
    with no characters.
    """
    if not isinstance(text, str):
        raise OcrkitError(f"page text must be a string, not {type(text).__name__}")
    if case not in CASES:
        raise OcrkitError(f"unknown case '{case}'; choose from {', '.join(CASES)}")
    allowed = ALPHABET if case == "upper" else frozenset(CLASSES)
    lines: list[list[str] | None] = []
    for number, raw in enumerate(text.splitlines(), 1):
        for ch in raw:
            if not ch.isspace() and (ch.upper() if case == "upper" else ch) not in allowed:
                what = "lower case is upper-cased" if case == "upper" else "case as written"
                raise OcrkitError(f"line {number}: character {ch!r} cannot be written "
                                  f"(only A-Z, a-z, 0-9, spaces and newlines; {what})")
        words = (raw.upper() if case == "upper" else raw).split()
        lines.append(words or None)
    while lines and lines[-1] is None:
        lines.pop()
    while lines and lines[0] is None:
        lines.pop(0)
    if not lines:
        raise OcrkitError("the page text is empty: nothing to write")
    return lines


def page_text(text: str, case: str = "upper") -> str:
    """The ground truth of `text` on free or ruled paper: one line per written line, single
    spaces (upper case unless case="mixed"). A form's truth also holds its printed labels:
    use the `lines` render_page returns (`truth_text`)."""
    return "\n".join(" ".join(words) for words in parse_text(text, case) if words) + "\n"


def truth_text(lines: list[dict], printed: bool = True) -> str:
    """The text of rendered `lines`, one line per line; without printed words if not
    `printed` (lines left empty are dropped)."""
    out = [" ".join(w["text"] for w in ln["words"] if printed or not w["printed"])
           for ln in lines]
    return "\n".join(t for t in out if t) + "\n"


def render_page(text: str, seed: int = 0, *, char_height: float | None = None,
                colour: bool = True, ink: str | None = None, jpeg_quality: int | None = -1,
                max_pixels: float = MAX_PIXELS, case: str = "upper", ruled: bool = False,
                rule_gap: float | None = None, margin_line: bool = False,
                touching: float = 0.0, form: bool = False, labels=(), holes: bool = False,
                clutter: bool = False, skew: float = 0.0, drift: float = 0.0,
                return_layout: bool = False) -> tuple[np.ndarray, list | dict]:
    """Draw `text` as a photo of a hand-printed page.

    char_height: cap height in pixels (default: drawn between 45 and 75); colour: RGB (H, W, 3)
    or grey (H, W) uint8; ink: "black", "blue", "pencil" or None (drawn); jpeg_quality: JPEG
    artefacts at this quality (-1: drawn between 55 and 90; None: none). The paper, layout and
    photo options are described in the module docstring.
    Returns (image, lines), or (image, layout) with return_layout; see the module docstring.
    """
    words_by_line = parse_text(text, case)
    opts = _options(case, ruled, rule_gap, margin_line, touching, form, labels, holes, clutter,
                    skew, drift)
    rng = np.random.default_rng(seed)
    if char_height is None:
        char_height = rng.uniform(45, 75)
    if not (MIN_HEIGHT <= char_height <= MAX_HEIGHT):
        raise OcrkitError(f"character height {char_height:g} px is out of range "
                          f"({MIN_HEIGHT}-{MAX_HEIGHT} px)")
    if ink is not None and ink not in INKS:
        raise OcrkitError(f"unknown ink '{ink}'; choose from {', '.join(INKS)}")
    extra = np.random.default_rng([seed, OPTIONS_STREAM])
    layout = layout_page(words_by_line, float(char_height), rng, extra, opts)
    h_page, w_page = layout["shape"]
    turned = abs(np.cos(np.radians(skew))) + abs(np.sin(np.radians(skew)))
    grow = (turned * (1.25 if clutter else 1.0)) ** 2     # the photo around a turned sheet
    if h_page * w_page * grow > max_pixels:
        raise OcrkitError(f"the page would be {w_page}x{h_page} pixels "
                          f"({h_page * w_page * grow / 1e6:.0f} megapixels, at most "
                          f"{max_pixels / 1e6:.0f}); use a smaller character height or "
                          "shorter lines")
    ink_map = np.zeros((h_page, w_page), np.float32)
    for cell, (y0, x0) in layout["ink"]:
        h, w = cell.shape
        region = ink_map[y0:y0 + h, x0:x0 + w]
        np.maximum(region, cell, out=region)
    image, scene = photograph(ink_map, layout, opts, rng, extra, colour, ink, jpeg_quality)
    lines = layout["lines"]
    if not scene["identity"]:
        _map_truth(lines, layout, scene)
    if not return_layout:
        return image, lines
    return image, _record(image, lines, layout, scene, text, seed, char_height, opts)


def write_page(text: str, out, seed: int = 0, *, layout_json: bool = False, **options
               ) -> tuple[Path, Path]:
    """Render `text` and write the image (.png, .jpg or .jpeg) and `<stem>.gt.txt` beside it
    (and `<stem>.layout.json`, the layout render_page returns, with `layout_json`).

    options go to `render_page`. Returns (image path, ground-truth path).
    """
    from PIL import Image
    from ocrkit.files import atomic_write
    out = Path(out)
    kind = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}.get(out.suffix.lower())
    if kind is None:
        raise OcrkitError(f"{out}: the page image must be .png, .jpg or .jpeg")
    image, layout = render_page(text, seed, return_layout=True, **options)
    gt_path = out.with_name(out.stem + ".gt.txt")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, kind, **({"quality": 92} if kind == "JPEG" else {}))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcrkitError(f"{out}: cannot write ({exc.strerror or exc})") from None
    atomic_write(out, buf.getvalue(), "the page image")
    atomic_write(gt_path, truth_text(layout["lines"]), "the ground truth")
    if layout_json:
        atomic_write(out.with_name(out.stem + ".layout.json"),
                     json.dumps(layout, indent=1) + "\n", "the layout")
    return out, gt_path


def _options(case, ruled, rule_gap, margin_line, touching, form, labels, holes, clutter, skew,
             drift) -> Options:
    """Check the page options (one OcrkitError line for a wrong one)."""
    if not 0 <= touching <= 1:
        raise OcrkitError(f"touching must be a probability in 0..1, not {touching:g}")
    if not abs(skew) <= MAX_SKEW:
        raise OcrkitError(f"skew must be within +-{MAX_SKEW:g} degrees, not {skew:g}")
    if not 0 <= drift <= 20:
        raise OcrkitError(f"drift must be 0-20 degrees, not {drift:g}")
    if rule_gap is not None and not (ruled and 0.4 <= rule_gap <= 5):
        raise OcrkitError("rule_gap needs ruled paper and a gap of 0.4-5 cap heights"
                          if ruled else "rule_gap is for ruled paper (ruled=True, --ruled)")
    if isinstance(labels, str):
        labels = labels.split("\n")
    labels = tuple(str(lb) for lb in (labels or ()))
    if labels and not form:
        raise OcrkitError("printed labels go beside the boxes of a form (form=True, --form)")
    if form and (ruled or margin_line or touching):
        raise OcrkitError("a form has printed boxes: it cannot also be ruled, have a margin "
                          "line or touching letters")
    for lb in labels:
        bad = [ch for ch in lb if not (ch in CLASSES or ch == " " or (ch.isascii() and
                                                                      ch.isprintable()
                                                                      and not ch.isalnum()))]
        if bad:
            raise OcrkitError(f"label {lb!r}: character {bad[0]!r} cannot be printed (A-Z, "
                              "a-z, 0-9, spaces and ASCII punctuation)")
    return Options(case=case, ruled=bool(ruled), rule_gap=rule_gap, margin_line=bool(margin_line),
                   touching=float(touching), form=bool(form), labels=labels, holes=bool(holes),
                   clutter=bool(clutter), skew=float(skew), drift=float(drift))


# -- the truth in image pixels ---------------------------------------------------------------------

def _map_truth(lines, layout, scene) -> None:
    """Boxes measured again through the sheet-to-image map: each character's box is the box
    of its ink pixels (above half strength) mapped into the image; points are mapped."""
    chars = [ch for ln in lines for w in ln["words"] for ch in w["chars"]]
    for ch, (kind, k) in zip(chars, layout["refs"]):
        cell, (y0, x0) = layout[kind][k]
        ys, xs = np.nonzero(cell > 0.5)
        if len(xs):
            p = to_image(scene, np.stack([xs + x0, ys + y0], 1))
            lo, hi = np.floor(p.min(0) + 0.5), np.floor(p.max(0) + 0.5) + 1
            ch["box"] = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        else:
            ch["box"] = _map_box(scene, ch["box"])
        ch["baseline"] = _point(scene, ch["baseline"])
        if "cell" in ch:
            ch["cell"] = _map_box(scene, ch["cell"])
    for ln in lines:
        for w in ln["words"]:
            w["box"] = _union(ch["box"] for ch in w["chars"])
        ln["box"] = _union(w["box"] for w in ln["words"])
        ln["baseline"] = tuple(_point(scene, p) for p in ln["baseline"])
        if "cells" in ln:
            ln["cells"] = [_map_box(scene, b) for b in ln["cells"]]


def _record(image, lines, layout, scene, text, seed, char_height, opts) -> dict:
    """The layout as plain JSON-ready data, in image pixels."""
    h_img, w_img = image.shape[:2]
    h, w = layout["shape"]
    rules = []
    if layout["rules"]:
        r = layout["rules"]
        # sheet points of the image's corners: where rules can be seen (paper has no end
        # unless it lies on a table)
        seen = to_sheet(scene, [[0, 0], [w_img, 0], [w_img, h_img], [0, h_img]])
        u0, v0 = seen.min(0) if not opts.clutter else (0, 0)
        u1, v1 = seen.max(0) if not opts.clutter else (w, h)
        xs = np.linspace(u0, u1, 33)
        reach = abs(r["bow"]) + abs(r["tilt"]) * (u1 - u0)
        for k in range(first_rule(r), int(np.ceil((v1 + reach - r["y0"]) / r["gap"])) + 1):
            ys = rule_y(r, k, xs)
            p = to_image(scene, np.stack([xs, ys], 1))
            inside = ((p[:, 0] >= 0) & (p[:, 0] <= w_img) & (p[:, 1] >= 0) & (p[:, 1] < h_img)
                      & (ys >= v0) & (ys < v1))
            if inside.sum() >= 2:
                rules.append({"points": _points(p[inside]), "width": r["width"]})
    margin = None
    if layout["margin_x"] is not None:
        margin = _points(to_image(scene, [[layout["margin_x"], 0], [layout["margin_x"], h]]))
    holes = [{"centre": _point(scene, (x, y)), "radius": round(float(r), 1)}
             for x, y, r in layout["holes"]]
    options = {k: v for k, v in vars(opts).items() if v != getattr(Options(), k)}
    options["labels"] = list(opts.labels)
    sheet = scene["sheet"]
    record = {"format": "ocrkit synthetic page", "version": 1, "width": w_img, "height": h_img,
              "seed": seed, "char_height": round(float(char_height), 2), "options": options,
              "text": truth_text(lines), "sheet": sheet, "rules": rules, "margin_line": margin,
              "form": {"border": layout["border"]} if opts.form else None, "holes": holes,
              "clutter": scene["clutter"], "lines": lines}
    return json.loads(json.dumps(record))            # tuples as lists, numpy numbers as Python's


def _point(scene, p) -> tuple[float, float]:
    q = to_image(scene, [p])[0]
    return (round(float(q[0]), 1), round(float(q[1]), 1))


def _points(p) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in p]


def _map_box(scene, box) -> tuple[int, int, int, int]:
    """The box (in image pixels) holding a sheet box turned into the image."""
    x0, y0, x1, y1 = box
    p = to_image(scene, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    lo, hi = np.floor(p.min(0) + 1e-6), np.ceil(p.max(0) - 1e-6)
    return (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))

