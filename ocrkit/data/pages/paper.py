"""What is printed on the sheet before anyone writes on it, and where the sheet ends.

    layers = print_layers(layout, u, v, warp, extra)   # [(alpha, rgb)]: rules, margin, print
    alpha = sheet_alpha(layout, u, v, bounded)         # 1 on paper, 0 off the sheet and in holes

`u`, `v` are the sheet coordinates of the image's pixels (broadcastable arrays: a row and a
column when the sheet is the image, full arrays when it is turned or lies on a table), so rules,
the margin line, the sheet's edges and its holes are formulas of the pixel, drawn in the image
with whole-array numpy at a few operations per pixel, and never resampled. Rule k lies at
y0 + k gap + tilt (x - xc) + bow ((x - xc) / half)^2 (a notebook photographed bent or turned a
little: slightly skewed, curved rules). What has a shape of its own (a form's boxes, printed
labels) is drawn on the sheet and put into the image by `warp`, with the hand's ink. Printed
labels are glyphs of a real font (Pillow's own or one of matplotlib's DejaVu faces), drawn one
at a time so that each has its own box.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ocrkit.errors import OcrkitError

RULE_COLOURS = {"blue": (0.45, 0.62, 0.88), "grey": (0.55, 0.56, 0.6), "violet": (0.6, 0.5, 0.8)}
PRINT_COLOURS = {"black": (0.08, 0.08, 0.1), "grey": (0.3, 0.3, 0.32), "blue": (0.16, 0.26, 0.6),
                 "red": (0.78, 0.3, 0.28)}
MARGIN_RED = (0.86, 0.32, 0.36)
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")


def print_layers(layout: dict, u, v, warp, extra: np.random.Generator
                 ) -> list[tuple[np.ndarray, tuple]]:
    """The printed layers of a sheet laid out by layout_page, bottom first, in the image."""
    layers = []
    if layout["rules"]:
        layers.append(_rules(layout["rules"], u, v, extra))
    if layout["margin_x"] is not None:
        layers.append(_margin_line(layout["margin_x"], u, v, extra))
    if layout["grid"] or layout["printed"]:
        h, w = layout["shape"]
        alpha = np.zeros((h, w), np.float32)
        t = int(layout["border"])
        for x0, y0, x1, y1 in layout["grid"]:
            alpha[y0:y0 + t, x0:x1] = 1
            alpha[y1 - t:y1, x0:x1] = 1
            alpha[y0:y1, x0:x0 + t] = 1
            alpha[y0:y1, x1 - t:x1] = 1
        alpha *= np.float32(extra.uniform(0.75, 1.0))
        for mask, (y0, x0) in layout["printed"]:
            region = alpha[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
            np.maximum(region, mask, out=region)
        colour = list(PRINT_COLOURS.values())[extra.choice(len(PRINT_COLOURS),
                                                           p=[0.55, 0.2, 0.15, 0.1])]
        layers.append((warp(alpha), colour))
    return layers


def rule_y(rules: dict, k, x):
    """y of rule k at x (sheet pixels; an array keeps its float type)."""
    u = (x if isinstance(x, np.ndarray) else np.asarray(x, float)) - float(rules["xc"])
    q = u * float(1 / rules["half"])
    return float(rules["y0"] + k * rules["gap"]) + float(rules["tilt"]) * u \
        + float(rules["bow"]) * (q * q)


def first_rule(rules: dict) -> int:
    """The first rule drawn: rules start below a blank header band."""
    return int(np.ceil((rules["header"] - rules["y0"]) / rules["gap"]))


def _rules(rules: dict, u, v, extra) -> tuple[np.ndarray, tuple]:
    width = extra.uniform(1.0, 3.0)
    rules["width"] = round(float(width), 2)
    colour = list(RULE_COLOURS.values())[extra.choice(len(RULE_COLOURS), p=[0.6, 0.3, 0.1])]
    gap = np.float32(rules["gap"])
    t = (v - rule_y(rules, 0, u)) / gap
    k = np.rint(t)
    alpha = np.clip(np.float32(width / 2 + 0.5) - np.abs(t - k) * gap, 0, 1)
    alpha[np.broadcast_to(k < first_rule(rules), alpha.shape)] = 0
    return alpha * np.float32(extra.uniform(0.35, 0.7)), colour


def _margin_line(x: float, u, v, extra) -> tuple[np.ndarray, tuple]:
    width = extra.uniform(1.0, 3.0)
    alpha = np.clip(np.float32(width / 2 + 0.5) - np.abs(u - np.float32(x)), 0, 1)
    if extra.random() < 0.3:                                  # a double margin line
        alpha = np.maximum(alpha, np.clip(np.float32(width / 2 + 0.5)
                                          - np.abs(u - np.float32(x + 3 * width + 2)), 0, 1))
    shape = np.broadcast_shapes(np.shape(u), np.shape(v))
    return np.broadcast_to(alpha * np.float32(extra.uniform(0.5, 0.85)), shape), MARGIN_RED


def sheet_alpha(layout: dict, u, v, bounded: bool, at) -> np.ndarray | None:
    """1 on paper, 0 off the sheet (when `bounded`: a sheet on a table) and in its punch holes,
    anti-aliased at the edges; None where paper covers the whole image. `at` maps sheet (x, y)
    points to image (x, y) points (where to look for a hole)."""
    if not (bounded or layout["holes"]):
        return None
    h, w = layout["shape"]
    shape = np.broadcast_shapes(np.shape(u), np.shape(v))
    alpha = np.ones(shape, np.float32)
    if bounded:                         # pixel centres at integers: the sheet is [-0.5, W - 0.5)
        edge = np.minimum(np.minimum(u + 0.5, w - 0.5 - u), np.minimum(v + 0.5, h - 0.5 - v))
        alpha = np.clip(edge + 0.5, 0, 1)
    u, v = np.broadcast_to(u, shape), np.broadcast_to(v, shape)
    for x, y, r in layout["holes"]:
        (cx, cy), = at([(x, y)])
        win = (slice(max(0, int(cy - r - 3)), max(0, int(cy + r + 4))),
               slice(max(0, int(cx - r - 3)), max(0, int(cx + r + 4))))
        dist = np.hypot(u[win] - np.float32(x), v[win] - np.float32(y))
        np.minimum(alpha[win], np.clip(dist - np.float32(r) + 0.5, 0, 1), out=alpha[win])
    return alpha


# -- printed labels --------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _font_files() -> tuple:
    """The fonts printed labels are drawn with: Pillow's own and matplotlib's DejaVu faces."""
    import matplotlib
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return (None,) + tuple(str(folder / f) for f in FONTS if (folder / f).is_file())


def _font(path, size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size) if path is None else ImageFont.truetype(path, size)
    except (TypeError, OSError, AttributeError) as exc:
        raise OcrkitError(f"printed labels need a FreeType font (Pillow >= 10.1): {exc}") from None


def label_glyphs(labels, cap_height: float, extra: np.random.Generator) -> list[dict]:
    """Each label drawn glyph by glyph in one font chosen for the page.

    Returns per label {"width": px, "cap_height": px, "words": [{"text", "chars": [{"char",
    "mask", "at"}]}]}: `mask` a glyph's ink (float32 in [0, 1]), `at` (x, y) of the mask's
    top-left corner from the label's left end on its baseline; `char` None for punctuation,
    which is drawn but is not part of the text (as in the real pages' truth)."""
    from PIL import Image, ImageDraw
    files = _font_files()
    path = files[int(extra.integers(0, len(files)))]
    probe = _font(path, 100)
    l, t, r, b = probe.getbbox("H", anchor="ls")
    font = _font(path, max(6, int(round(100 * cap_height / (b - t)))))
    l, t, r, b = font.getbbox("H", anchor="ls")
    out = []
    for label in labels:
        entry = {"width": float(font.getlength(label)) if label else 0.0,
                 "cap_height": float(b - t), "words": []}
        word = None
        for i, ch in enumerate(label):
            if ch.isspace():
                word = None
                continue
            if word is None:
                word = {"text": "", "chars": []}
                entry["words"].append(word)
            gl, gt, gr, gb = font.getbbox(ch, anchor="ls")
            img = Image.new("L", (gr - gl + 2, gb - gt + 2), 0)
            ImageDraw.Draw(img).text((1 - gl, 1 - gt), ch, font=font, fill=255, anchor="ls")
            text_char = ch if ch.isalnum() else None
            word["text"] += text_char or ""
            word["chars"].append({"char": text_char,
                                  "mask": np.asarray(img, np.float32) / 255,
                                  "at": (float(font.getlength(label[:i])) + gl - 1, gt - 1)})
        out.append(entry)
    return out
