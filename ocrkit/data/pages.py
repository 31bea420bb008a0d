"""Synthetic photos of hand-printed pages, with the position of every character.

    image, lines = render_page("TO DO LIST\\n1 MAKE A LIST", seed=3)
    write_page(text, "page.jpg", seed=3)          # page.jpg + page.gt.txt

One writer per page: a pen width, a slant, a size. Each line gets its own size, slope, baseline
wobble and letter and word spacing; each character is a `synth` skeleton drawn at page scale
(with the same per-class proportions as the canonical characters), placed left to right so no
two characters' ink boxes overlap. The ink then goes on paper: paper colour and texture, uneven
lighting, camera blur, sensor noise and JPEG artefacts, as in a phone photo.

`lines` holds, per written line, its text, box and words; per word its text, box and characters;
per character `char`, `label` (index into NIST36) and `box` = (x0, y0, x1, y1) in image pixels,
x1 and y1 exclusive: the box of the ink the character left (pen ink above half strength).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from scipy import ndimage

from ocrkit.data.dataset import NIST36
from ocrkit.data.synth import (WIDTHS, _table, ink_from_field, pick_variants, point_weights,
                               pressure, skeleton_points, splat)
from ocrkit.errors import OcrkitError

ALPHABET = frozenset(NIST36)
MIN_HEIGHT, MAX_HEIGHT = 12, 400        # character height in pixels, accepted range
MAX_PIXELS = 40e6                        # refuse pages larger than this
CELL_CHUNK = 32                          # characters splatted per batch
INKS = {"black": (0.10, 0.10, 0.13), "blue": (0.10, 0.16, 0.42), "pencil": (0.33, 0.33, 0.35)}


def parse_text(text: str) -> list[list[str] | None]:
    """Page text -> lines of upper-case words; None for a blank line between written lines.

    Lower case is upper-cased; spaces and tabs separate words, newlines lines. Any other
    character is an OcrkitError naming it and its line; so is a text with no characters.
    """
    if not isinstance(text, str):
        raise OcrkitError(f"page text must be a string, not {type(text).__name__}")
    lines: list[list[str] | None] = []
    for number, raw in enumerate(text.splitlines(), 1):
        for ch in raw:
            if not ch.isspace() and ch.upper() not in ALPHABET:
                raise OcrkitError(f"line {number}: character {ch!r} cannot be written "
                                  "(only A-Z, 0-9, spaces and newlines; lower case is "
                                  "upper-cased)")
        words = raw.upper().split()
        lines.append(words or None)
    while lines and lines[-1] is None:
        lines.pop()
    while lines and lines[0] is None:
        lines.pop(0)
    if not lines:
        raise OcrkitError("the page text is empty: nothing to write")
    return lines


def page_text(text: str) -> str:
    """The ground truth of `text`: one line per written line, single spaces, upper case."""
    return "\n".join(" ".join(words) for words in parse_text(text) if words) + "\n"


def render_page(text: str, seed: int = 0, *, char_height: float | None = None,
                colour: bool = True, ink: str | None = None, jpeg_quality: int | None = -1,
                max_pixels: float = MAX_PIXELS) -> tuple[np.ndarray, list[dict]]:
    """Draw `text` as a photo of a hand-printed page.

    char_height: cap height in pixels (default: drawn between 45 and 75); colour: RGB (H, W, 3)
    or grey (H, W) uint8; ink: "black", "blue", "pencil" or None (drawn); jpeg_quality: JPEG
    artefacts at this quality (-1: drawn between 55 and 90; None: none).
    Returns (image, lines); see the module docstring for `lines`.
    """
    words_by_line = parse_text(text)
    rng = np.random.default_rng(seed)
    if char_height is None:
        char_height = rng.uniform(45, 75)
    if not (MIN_HEIGHT <= char_height <= MAX_HEIGHT):
        raise OcrkitError(f"character height {char_height:g} px is out of range "
                          f"({MIN_HEIGHT}-{MAX_HEIGHT} px)")
    if ink is not None and ink not in INKS:
        raise OcrkitError(f"unknown ink '{ink}'; choose from {', '.join(INKS)}")
    layout = _layout(words_by_line, float(char_height), rng)
    h_page, w_page = layout["shape"]
    if h_page * w_page > max_pixels:
        raise OcrkitError(f"the page would be {w_page}x{h_page} pixels "
                          f"({h_page * w_page / 1e6:.0f} megapixels, at most "
                          f"{max_pixels / 1e6:.0f}); use a smaller character height or "
                          "shorter lines")
    ink_map = np.zeros((h_page, w_page), np.float32)
    for cell, (y0, x0) in zip(layout["cells"], layout["origins"]):
        h, w = cell.shape
        region = ink_map[y0:y0 + h, x0:x0 + w]
        np.maximum(region, cell, out=region)
    image = _photograph(ink_map, rng, colour, ink, jpeg_quality)
    return image, layout["lines"]


def write_page(text: str, out, seed: int = 0, **options) -> tuple[Path, Path]:
    """Render `text` and write the image (.png, .jpg or .jpeg) and `<stem>.gt.txt` beside it.

    options go to `render_page`. Returns (image path, ground-truth path).
    """
    from PIL import Image
    out = Path(out)
    kind = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}.get(out.suffix.lower())
    if kind is None:
        raise OcrkitError(f"{out}: the page image must be .png, .jpg or .jpeg")
    gt = page_text(text)
    image, _ = render_page(text, seed, **options)
    gt_path = out.with_name(out.stem + ".gt.txt")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(out, kind, **({"quality": 92} if kind == "JPEG" else {}))
        gt_path.write_text(gt, encoding="utf-8")
    except OSError as exc:
        raise OcrkitError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return out, gt_path


def _widths() -> np.ndarray:
    return np.array([WIDTHS[c] for c in NIST36])


# -- layout ---------------------------------------------------------------------------------------

def _layout(words_by_line, h0: float, rng: np.random.Generator) -> dict:
    """Place every character: returns shape (H, W), cells (ink arrays), origins (y, x) of the
    cells on the page, and `lines` with the boxes."""
    chars = [c for words in words_by_line if words for w in words for c in w]
    labels = np.array([NIST36.index(c) for c in chars], np.int64)
    n = len(labels)
    # the writer
    pen_width = h0 * rng.uniform(0.06, 0.1)
    pen_sigma = pen_width / rng.uniform(2.8, 4.0)
    writer_slant = rng.normal(5, 6)
    margin = h0 * rng.uniform(0.8, 1.4)

    # per line: size, slope, wobble, spacing; per char: size and baseline jitter
    line_of = np.array([i for i, words in enumerate(words_by_line) if words
                        for w in words for _ in w])
    n_lines = len(words_by_line)
    line_h = h0 * np.exp(rng.normal(0, 0.07, n_lines))
    heights = line_h[line_of] * np.exp(rng.normal(0, 0.04, n))
    variants = pick_variants(labels, rng, block_only=True)
    pts, valid = skeleton_points(
        variants, rng, jitter=rng.uniform(0.015, 0.035, n), shift=0.012,
        elastic=rng.uniform(0.0, 0.03, n), slant=np.radians(writer_slant + rng.normal(0, 4, n)),
        rotation=np.radians(rng.normal(0, 2.5, n)), pivot_y=0.5,
        # half of the canonical (EMNIST-measured) widths: printed pages are less extreme
        aspect=_widths()[labels] ** -0.5 * np.exp(rng.normal(0, 0.08, n)))
    stroke = _table()["stroke"][variants]
    cells, offsets = _draw_cells(pts, valid, stroke, heights, pen_width, pen_sigma, rng)

    # walk along each line, placing each character's ink box after the previous one
    lines, origins = [], []
    y_cursor = margin
    k = 0
    slope = np.radians(rng.normal(0, 1.0, n_lines))
    for i, words in enumerate(words_by_line):
        if words is None:
            y_cursor += h0 * rng.uniform(0.6, 1.0)
            continue
        h = line_h[i]
        y_cursor += h                         # the baseline of this line
        letter_gap = h * rng.uniform(0.15, 0.35)
        word_gap = h * rng.uniform(0.7, 1.1)
        wobble_amp, wobble_len = h * rng.uniform(0, 0.05), h * rng.uniform(4, 10)
        wobble_phase = rng.uniform(0, 2 * np.pi)
        x = margin + h * rng.uniform(0, 0.6)
        line = {"text": " ".join(words), "words": []}
        for j, word in enumerate(words):
            if j:
                x += word_gap * np.exp(rng.normal(0, 0.15))
            entry = {"text": word, "chars": []}
            for c in word:
                cell, (cy, cx), box = cells[k], offsets[k], _ink_box(cells[k])
                baseline = (y_cursor + (x - margin) * np.tan(slope[i])
                            + wobble_amp * np.sin(2 * np.pi * x / wobble_len + wobble_phase)
                            + rng.normal(0, 0.025 * h))
                # cell pixel (cy, cx) holds the glyph's pivot: half a height above the baseline
                y0 = int(round(baseline - 0.5 * heights[k] - cy))
                x0 = int(round(x - box[0]))
                origins.append((y0, x0))
                entry["chars"].append({"char": c, "label": int(labels[k]),
                                       "box": (x0 + box[0], y0 + box[1], x0 + box[2],
                                               y0 + box[3])})
                x = x0 + box[2] + letter_gap * np.exp(rng.normal(0, 0.25))
                k += 1
            entry["box"] = _union(ch["box"] for ch in entry["chars"])
            line["words"].append(entry)
        line["box"] = _union(w["box"] for w in line["words"])
        lines.append(line)
        y_cursor += h * rng.uniform(0.9, 1.5)

    # shift everything so the ink sits inside the margins
    boxes = np.array([ch["box"] for ln in lines for w in ln["words"] for ch in w["chars"]])
    cell_y0 = np.array([o[0] for o in origins])
    cell_x0 = np.array([o[1] for o in origins])
    top = min(boxes[:, 1].min(), 0)
    left = min(boxes[:, 0].min(), 0)
    dy, dx = int(round(margin)) - top, int(round(margin)) - left
    height = int(boxes[:, 3].max() + dy + margin)
    width = int(boxes[:, 2].max() + dx + margin)
    # cells may stick out of the page where they hold no ink: crop them to the page
    final_cells, final_origins = [], []
    for cell, y0, x0 in zip(cells, cell_y0 + dy, cell_x0 + dx):
        ya, xa = max(0, -y0), max(0, -x0)
        yb, xb = min(cell.shape[0], height - y0), min(cell.shape[1], width - x0)
        final_cells.append(cell[ya:yb, xa:xb])
        final_origins.append((y0 + ya, x0 + xa))
    for ln in lines:
        ln["box"] = _move(ln["box"], dx, dy)
        for w in ln["words"]:
            w["box"] = _move(w["box"], dx, dy)
            for ch in w["chars"]:
                ch["box"] = _move(ch["box"], dx, dy)
    return {"shape": (height, width), "cells": final_cells, "origins": final_origins,
            "lines": lines}


def _draw_cells(pts, valid, stroke, heights, pen_width, pen_sigma, rng):
    """Render each character into its own square cell at page scale.

    pts (N, K, 2) around each glyph's pivot, in glyph heights. Returns a list of (S, S) ink
    arrays and, per cell, the (row, col) of the pivot."""
    n = len(pts)
    side = int(np.ceil(heights.max() * 2.2 + 4 * pen_width))
    centre = (side - 1) / 2
    px = (pts * heights[:, None, None] + centre).astype(np.float32)
    weights = point_weights(px, valid, stroke) * pressure(pts, stroke, rng, amount=0.2)
    darkness = np.clip(rng.normal(0.95, 0.04, n), 0.8, 1.05)
    cells = []
    for i in range(0, n, CELL_CHUNK):
        sl = slice(i, i + CELL_CHUNK)
        m = len(px[sl])
        field = splat(px[sl], weights[sl], np.full(m, pen_sigma), (side, side))
        ink = ink_from_field(field, np.full(m, pen_width), np.full(m, pen_sigma))
        cells.extend(ink * darkness[sl, None, None].astype(np.float32))
    return cells, [(centre, centre)] * n


def _ink_box(cell: np.ndarray, level: float = 0.5) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((cell > level).any(1))
    cols = np.flatnonzero((cell > level).any(0))
    if not len(rows):
        c = cell.shape[0] // 2
        return (c, c, c + 1, c + 1)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _union(boxes) -> tuple[int, int, int, int]:
    b = np.array(list(boxes))
    return (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))


def _move(box, dx, dy) -> tuple[int, int, int, int]:
    return (int(box[0] + dx), int(box[1] + dy), int(box[2] + dx), int(box[3] + dy))


# -- the photo ------------------------------------------------------------------------------------

def _smooth_noise(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-std noise smoothed over `sigma` pixels (made at low resolution)."""
    step = max(1, int(sigma // 2))
    small = rng.normal(0, 1, (shape[0] // step + 2, shape[1] // step + 2)).astype(np.float32)
    small = ndimage.gaussian_filter(small, sigma / step)
    big = ndimage.zoom(small, step, order=1)[:shape[0], :shape[1]] if step > 1 else \
        small[:shape[0], :shape[1]]
    return (big - big.mean()) / (big.std() + 1e-6)


def _photograph(ink_map: np.ndarray, rng: np.random.Generator, colour: bool, ink: str | None,
                jpeg_quality: int | None) -> np.ndarray:
    """Ink (H, W) in [0, 1] -> uint8 photo of it on paper: RGB (H, W, 3) or grey (H, W)."""
    h, w = ink_map.shape
    paper = np.array([0.93, 0.92, 0.88]) + rng.normal(0, 0.02, 3)
    ink_rgb = np.array(INKS[ink if ink else rng.choice(list(INKS), p=[0.55, 0.3, 0.15])])
    texture = 0.012 * _smooth_noise((h, w), 6, rng) + 0.006 * rng.normal(0, 1, (h, w))
    a = ink_map[..., None]
    img = (paper + texture[..., None]) * (1 - a) + ink_rgb * a            # (H, W, 3)
    # uneven lighting: a tilted plane, a vignette and a soft shadow
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h, w), xx / max(h, w)
    g = rng.normal(0, 0.12, 2)
    light = 1 + g[0] * (xx - xx.mean()) + g[1] * (yy - yy.mean())
    r2 = ((xx - xx.mean()) ** 2 + (yy - yy.mean()) ** 2) / max(xx.max() ** 2 + yy.max() ** 2, 1e-6)
    light -= rng.uniform(0, 0.25) * r2
    light += 0.05 * _smooth_noise((h, w), max(h, w) / 6, rng)
    img = img * np.clip(light, 0.5, 1.2)[..., None]
    img = img * (1 + rng.normal(0, 0.02, 3))                              # white balance
    blur = rng.uniform(0.4, 1.2)
    img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img += rng.normal(0, rng.uniform(0.005, 0.02), img.shape)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if not colour:
        out = np.clip(out @ np.array([0.2125, 0.7154, 0.0721]) + 0.5, 0, 255).astype(np.uint8)
    if jpeg_quality == -1:
        jpeg_quality = int(rng.integers(55, 91))
    if jpeg_quality:
        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=int(jpeg_quality))
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    return out
