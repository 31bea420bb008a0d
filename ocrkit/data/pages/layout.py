"""Where everything goes on the sheet: the hand's characters, rules, form boxes, printed labels
and punch holes, in the sheet's pixels (x right, y down; boxes (x0, y0, x1, y1), x1 and y1
exclusive).

One writer per page: a pen width, a slant, a size. Each line gets its own size, slope, baseline
wobble and letter and word spacing; each character is a `synth` skeleton drawn at page scale
(with the same per-class proportions as the canonical characters) into a cell of its own, and
its box is the box of the ink it left (pen ink above half strength). Lower case keeps its true
size and place: the skeletons share the capitals' frame (baseline, x-height, ascenders,
descenders), so a c is drawn smaller than a C on the same baseline.

Free paper: lines walk left to right, each character's ink box after the previous one. Ruled
paper: the same walk with each line's baseline on a rule. A form: one printed box per
character, a row of boxes per line, printed labels to the left. Randomness that the first
(upper-case, free paper) pages already had comes from `rng`, in the same order as before, so
those pages are unchanged; everything added since comes from `extra`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ocrkit.data.dataset import NIST36
from ocrkit.data.pages.paper import label_glyphs, rule_y
from ocrkit.data.synth import (CLASSES, WIDTHS, X_TOP, _table, ink_from_field, pick_variants,
                               point_weights, pressure, skeleton_points, splat)

CELL_CHUNK = 32                          # characters splatted per batch
LOWER_GAP = 0.6                          # letter gap after a lower-case letter, times a capital's


@dataclass(frozen=True)
class Options:
    """What a page holds beyond upper-case hand-printing on plain paper (see render_page)."""

    case: str = "upper"
    ruled: bool = False
    rule_gap: float | None = None
    margin_line: bool = False
    touching: float = 0.0
    form: bool = False
    labels: tuple = ()
    holes: bool = False
    clutter: bool = False
    skew: float = 0.0
    drift: float = 0.0

    @property
    def plain(self) -> bool:
        """Upper- or mixed-case writing on plain paper and nothing else (the first pages)."""
        return self == Options(case=self.case)


def _widths() -> np.ndarray:
    return np.array([WIDTHS[c] for c in CLASSES])


def layout_page(words_by_line, h0: float, rng: np.random.Generator, extra: np.random.Generator,
                opts: Options) -> dict:
    """Place every character. Returns a dict:

    shape (H, W) of the sheet; ink: [(cell, (y0, x0))] the hand's ink, one cell per
    handwritten character; printed: [(mask, (y0, x0))] printed glyphs; lines: the truth (see
    the package docstring); refs: one ("ink" | "printed", index) per truth character in
    reading order; rules: None or {y0, gap, tilt, bow, xc, half, header} (rule k lies at
    y = y0 + k gap + tilt (x - xc) + bow ((x - xc) / half)^2, drawn below y = header:
    paper.rule_y); margin_x: None or the x of a margin line; grid: [box] printed boxes with
    borders `border` px wide; holes: [(x, y, r)] punch holes.
    """
    hand = _hand(words_by_line, h0, rng, extra)
    place = _form if opts.form else _walk
    return place(words_by_line, hand, rng, extra, opts)


# -- the hand --------------------------------------------------------------------------------------

def _hand(words_by_line, h0: float, rng, extra) -> dict:
    """The writer and every handwritten character drawn into its own cell."""
    chars = [c for words in words_by_line if words for w in words for c in w]
    labels = np.array([CLASSES.index(c) for c in chars], np.int64)
    n = len(labels)
    pen_width = h0 * rng.uniform(0.06, 0.1)
    pen_sigma = pen_width / rng.uniform(2.8, 4.0)
    writer_slant = rng.normal(5, 6)
    margin = h0 * rng.uniform(0.8, 1.4)

    # per line: size; per char: size; lower case a little larger or smaller per writer
    line_of = np.array([i for i, words in enumerate(words_by_line) if words
                        for w in words for _ in w])
    n_lines = len(words_by_line)
    line_h = h0 * np.exp(rng.normal(0, 0.07, n_lines))
    heights = line_h[line_of] * np.exp(rng.normal(0, 0.04, n))
    lower = np.array([c.islower() for c in chars], bool)
    heights = heights * np.where(lower, extra.uniform(0.92, 1.08), 1.0)
    variants = pick_variants(labels, rng, block_only=True)
    pts, valid = skeleton_points(
        variants, rng, jitter=rng.uniform(0.015, 0.035, n), shift=0.012,
        elastic=rng.uniform(0.0, 0.03, n), slant=np.radians(writer_slant + rng.normal(0, 4, n)),
        rotation=np.radians(rng.normal(0, 2.5, n)), pivot_y=0.5,
        # half of the canonical (EMNIST-measured) widths: printed pages are less extreme
        aspect=_widths()[labels] ** -0.5 * np.exp(rng.normal(0, 0.08, n)))
    stroke = _table()["stroke"][variants]
    cells, offsets = _draw_cells(pts, valid, stroke, heights, pen_width, pen_sigma, rng)
    return {"h0": h0, "chars": chars, "labels": labels, "heights": heights, "line_h": line_h,
            "cells": cells, "offsets": offsets, "pen_width": pen_width, "margin": margin}


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


def _char(c: str, k: int, hand: dict, x0: int, y0: int, baseline: float, **more) -> dict:
    """The truth of handwritten character k whose cell is placed at (x0, y0)."""
    box = _ink_box(hand["cells"][k])
    cy, cx = hand["offsets"][k]
    return {"char": c, "label": NIST36.index(c.upper()),
            "box": (x0 + box[0], y0 + box[1], x0 + box[2], y0 + box[3]),
            "baseline": (round(float(x0 + cx), 1), round(float(baseline), 1)),
            "cap_height": round(float(hand["heights"][k]), 1), **more}


# -- free and ruled paper ------------------------------------------------------------------------

def _walk(words_by_line, hand: dict, rng, extra, opts: Options) -> dict:
    """Lines walked left to right on plain or ruled paper."""
    cells, offsets, heights = hand["cells"], hand["offsets"], hand["heights"]
    line_h, margin, pen, h0 = hand["line_h"], hand["margin"], hand["pen_width"], hand["h0"]
    n_lines = len(words_by_line)
    slope = np.radians(rng.normal(0, 1.0, n_lines))
    # lines that drift: the writer's own slope, each line's a little different (std `drift`
    # in all), and a bow (all 0 without `drift`)
    slope = slope + np.radians((0.8 * extra.normal() + 0.6 * extra.normal(0, 1, n_lines))
                               * opts.drift)
    bow = extra.normal(0, 1, n_lines) * opts.drift / 10 * 0.5 * h0
    # room at the left for punch holes and a margin line
    holes = []
    left_edge = 0.0                      # final x right of which the writing starts
    if opts.holes:
        r = h0 * extra.uniform(0.42, 0.55)
        hole_x = h0 * extra.uniform(0.8, 1.2) + r
        holes = [hole_x, r]
        left_edge = hole_x + r + h0 * extra.uniform(0.6, 1.2)
    margin_x = None
    if opts.margin_line:
        margin_x = max(h0 * extra.uniform(2.5, 4.0), left_edge + 0.5 * h0)
        left_edge = margin_x + h0 * extra.uniform(0.3, 0.8)
    indent = max(0.0, left_edge - round(margin) - margin)
    rules = None
    if opts.ruled:
        gap = h0 * (opts.rule_gap if opts.rule_gap else extra.uniform(1.35, 2.0))
        longest = max(len(" ".join(w)) for w in words_by_line if w)
        half = max(longest * 0.45 * h0, gap)
        rules = {"y0": margin + h0, "gap": gap, "xc": margin + indent + half, "half": half,
                 "tilt": np.tan(np.radians(extra.normal(0, 0.3))),
                 "bow": extra.normal(0, 0.12) * gap}
        sit = 0.5 * pen + h0 * extra.normal(0.02, 0.03, n_lines)   # baseline above its rule
        step = max(1, int(np.ceil(h0 / gap)))                       # rules a written line takes
        rule = 0

    lines, origins = [], []
    y_cursor = margin
    previous = None                           # the line above: (baseline, x0, length, height)
    k = 0
    touch = extra.random(len(hand["chars"])) < opts.touching
    for i, words in enumerate(words_by_line):
        if words is None:
            y_cursor += h0 * rng.uniform(0.6, 1.0)
            if rules:
                rule += 1
            continue
        h = line_h[i]
        y_cursor += h                         # the baseline of this line
        letter_gap = h * rng.uniform(0.15, 0.35)
        word_gap = h * rng.uniform(0.7, 1.1)
        wobble_amp, wobble_len = h * rng.uniform(0, 0.05), h * rng.uniform(4, 10)
        wobble_phase = rng.uniform(0, 2 * np.pi)
        x = margin + indent + h * rng.uniform(0, 0.6)
        x_start = x
        length = max(len(" ".join(words)) * 0.8 * h, h)
        if rules:
            base_y = partial(_on_rule, rules, rule, -sit[i], x_start, np.tan(slope[i]))
            wobble_amp *= 0.5
        else:
            base_y = partial(_free, y_cursor, margin, np.tan(slope[i]), bow[i], x_start, length)
            if opts.drift and previous:       # drifting lines must not run into each other
                y_cursor += _clearance(previous, base_y, x_start, length, h)
                base_y = partial(_free, y_cursor, margin, np.tan(slope[i]), bow[i], x_start,
                                 length)
            previous = (base_y, x_start, length, h)
        line = {"text": " ".join(words), "words": [], "printed": False}
        prev = None                           # (cell, x0, y0) of the character before
        for j, word in enumerate(words):
            if j:
                x += word_gap * np.exp(rng.normal(0, 0.15))
                prev = None
            entry = {"text": word, "chars": [], "printed": False}
            for c in word:
                cell, (cy, _), box = cells[k], offsets[k], _ink_box(cells[k])
                baseline = (base_y(x)
                            + wobble_amp * np.sin(2 * np.pi * x / wobble_len + wobble_phase)
                            + rng.normal(0, 0.025 * h))
                # cell pixel (cy, cx) holds the glyph's pivot: half a height above the baseline
                y0 = int(round(baseline - 0.5 * heights[k] - cy))
                x0 = int(round(x - box[0]))
                touching = bool(touch[k] and prev is not None)
                if touching:
                    x0 = _touching_x0(prev, cell, y0, pen, extra)
                origins.append((y0, x0))
                entry["chars"].append(_char(c, k, hand, x0, y0, baseline, touching=touching))
                # lower case is written closer together (relative to the cap height)
                x = x0 + box[2] + letter_gap * np.exp(rng.normal(0, 0.25)) \
                    * (LOWER_GAP if c.islower() else 1.0)
                prev = (cell, x0, y0)
                k += 1
            entry["box"] = _union(ch["box"] for ch in entry["chars"])
            line["words"].append(entry)
        line["box"] = _union(w["box"] for w in line["words"])
        first, last = line["words"][0]["chars"][0], line["words"][-1]["chars"][-1]
        line["baseline"] = ((first["box"][0], round(float(base_y(first["box"][0])), 1)),
                            (last["box"][2], round(float(base_y(last["box"][2])), 1)))
        line["cap_height"] = round(float(h), 1)
        line["x_height"] = round(float(h * (1 - X_TOP)), 1)
        lines.append(line)
        y_cursor += h * rng.uniform(0.9, 1.5)
        if rules:
            rule += step

    pads = None
    if not opts.plain:                    # more paper than the writing needs, as on a real sheet
        pads = (0.0, h0 * extra.uniform(0, 1), h0 * extra.uniform(0.3, 2),
                (rules["gap"] if rules else h0) * extra.uniform(0.5, 3))
    out = _on_sheet(lines, cells, origins, [], [], margin, pads, opts)
    dx, dy = out["shift"]
    if rules:
        rules.update(y0=rules["y0"] + dy, xc=rules["xc"] + dx)
        rules["header"] = extra.uniform(0, 1) * rules["y0"]   # rules start below a blank band
        out["rules"] = rules
    out["margin_x"] = margin_x
    if holes:
        x, r = holes
        height = out["shape"][0]
        n = 2 if height < 12 * r else 3
        out["holes"] = [(x, height * (i + 0.5) / n, r) for i in range(n)]
    return out


def _free(y, margin, tan, bow, x_start, length, x):
    """A line's baseline on plain paper at x: its slope and bow."""
    return y + (x - margin) * tan + bow * ((x - x_start) / length) ** 2


def _on_rule(rules, k, lift, x_start, tan, x):
    """A line's baseline on rule k, `lift` below it (negative: above), slightly sloped."""
    return rule_y(rules, k, x) + lift + 0.3 * (x - x_start) * tan


def _clearance(previous, base_y, x_start, length, h) -> float:
    """How much lower a line must start so that its capitals stay a fifth of a height clear of
    the descenders of the line above over their common width."""
    above, a_start, a_length, a_h = previous
    xs = np.linspace(min(x_start, a_start), max(x_start + length, a_start + a_length), 24)
    gap = (base_y(xs) - 1.05 * h) - (above(xs) + 0.45 * a_h)
    return float(max(0.0, 0.2 * h - gap.min()))


def _touching_x0(prev, cell, y0: int, pen: float, extra) -> int:
    """x0 of `cell` (placed at row y0) so that its ink touches the ink of prev = (cell, x0, y0)
    on some row, overlapping it by 0 to half a pen width."""
    p_cell, p_x0, p_y0 = prev
    right = _profile(p_cell, last=True)
    left = _profile(cell, last=False)
    rows = np.arange(max(p_y0, y0), min(p_y0 + len(right), y0 + len(left)))
    r_prev, r_new = right[rows - p_y0] + p_x0, left[rows - y0]
    both = (r_prev > -10 ** 8) & (r_new < 10 ** 8)
    if not both.any():                    # no row in common: boxes touch instead
        return int(p_x0 + np.flatnonzero((p_cell > 0.5).any(0)).max() + 1
                   - np.flatnonzero((cell > 0.5).any(0)).min())
    overlap = int(round(extra.uniform(0, 0.5) * pen))
    return int((r_prev[both] - r_new[both]).max() + 1 - overlap)


def _profile(cell: np.ndarray, last: bool) -> np.ndarray:
    """Per row, the last (or first) column of ink above half strength; a huge negative (or
    positive) number on rows without ink."""
    ink = cell > 0.5
    cols = np.arange(cell.shape[1])
    if last:
        return np.where(ink, cols, -10 ** 9).max(1)
    return np.where(ink, cols, 10 ** 9).min(1)


# -- a form ---------------------------------------------------------------------------------------

def _form(words_by_line, hand: dict, rng, extra, opts: Options) -> dict:
    """One printed box per character, a row of boxes per line, printed labels at the left."""
    cells, offsets, heights = hand["cells"], hand["offsets"], hand["heights"]
    margin, h0 = hand["margin"], hand["h0"]
    box_h = h0 / extra.uniform(0.55, 0.7)
    box_w = box_h * extra.uniform(0.8, 1.0)
    apart = box_w * extra.uniform(0.12, 0.3) if extra.random() < 0.4 else 0.0
    border = max(1.0, round(box_h * extra.uniform(0.02, 0.045)))
    rows = list(words_by_line) + [None] * max(0, len(opts.labels) - len(words_by_line))
    n_boxes = max(len(" ".join(w)) for w in rows if w) + int(extra.integers(0, 6))
    pitch = box_h * extra.uniform(1.35, 1.9)
    labels = [opts.labels[i] if i < len(opts.labels) else "" for i in range(len(rows))]
    glyphs = label_glyphs(labels, box_h * extra.uniform(0.36, 0.48), extra)
    label_w = max((g["width"] for g in glyphs), default=0.0)
    x_boxes = margin + (label_w + 0.5 * box_h if label_w else 0.0)

    lines, origins, grid, printed = [], [], [], []
    k = 0
    for i, words in enumerate(rows):
        top = margin + i * pitch
        row = [(x_boxes + j * (box_w + apart), top) for j in range(n_boxes)]
        boxes = [(int(round(x)), int(round(y)), int(round(x + box_w)), int(round(y + box_h)))
                 for x, y in row]
        grid.extend(boxes)
        line = {"words": [], "cells": boxes}
        g = glyphs[i]
        for word in g["words"]:              # the printed label, right-aligned to the boxes
            entry = {"text": word["text"], "chars": [], "printed": True}
            for ch in word["chars"]:
                mask, (x, y) = ch["mask"], ch["at"]
                x0 = int(round(x_boxes - 0.5 * box_h - g["width"] + x))
                y0 = int(round(top + 0.72 * box_h + y))
                printed.append((mask, (y0, x0)))
                if ch["char"] is None:         # punctuation: drawn, not part of the text
                    continue
                b = _ink_box(mask)
                entry["chars"].append({
                    "char": ch["char"], "label": NIST36.index(ch["char"].upper()),
                    "box": (x0 + b[0], y0 + b[1], x0 + b[2], y0 + b[3]),
                    "baseline": (round(x0 + 0.5 * (b[0] + b[2]), 1), round(top + 0.72 * box_h, 1)),
                    "cap_height": round(g["cap_height"], 1), "_ref": ("printed", len(printed) - 1)})
            if entry["chars"]:
                line["words"].append(entry)
        slot = 0
        for word in (words or []):
            entry = {"text": word, "chars": [], "printed": False}
            for c in word:
                bx0, by0, bx1, by1 = boxes[slot]
                (cy, _), box = offsets[k], _ink_box(cells[k])
                h = heights[k]
                baseline = by0 + 0.5 * (box_h + h) + extra.normal(0, 0.04 * box_h)
                centre = 0.5 * (bx0 + bx1) + extra.normal(0, 0.05 * box_w)
                y0 = int(round(baseline - 0.5 * h - cy))
                x0 = int(round(centre - 0.5 * (box[0] + box[2])))
                if extra.random() < 0.2:       # the pen runs into the printed box
                    x0, y0 = _onto_border((x0, y0), box, boxes[slot], border, extra)
                    baseline = y0 + cy + 0.5 * h
                origins.append((y0, x0))
                entry["chars"].append(_char(c, k, hand, x0, y0, baseline, cell=boxes[slot]))
                slot += 1
                k += 1
            slot += 1                          # a space: one box left empty
            entry["box"] = _union(ch["box"] for ch in entry["chars"])
            line["words"].append(entry)
        if not line["words"]:
            continue
        for w in line["words"]:
            w.setdefault("box", _union(ch["box"] for ch in w["chars"]))
        line["text"] = " ".join(w["text"] for w in line["words"])
        line["printed"] = all(w["printed"] for w in line["words"])
        line["box"] = _union(w["box"] for w in line["words"])
        first, last = boxes[0], boxes[-1]
        base = top + 0.5 * (box_h + h0)
        line["baseline"] = ((first[0], round(base, 1)), (last[2], round(base, 1)))
        line["cap_height"] = round(h0, 1)
        line["x_height"] = round(h0 * (1 - X_TOP), 1)
        # the keys in the order every line has them
        lines.append({key: line[key] for key in ("text", "words", "printed", "box", "baseline",
                                                 "cap_height", "x_height", "cells")})
    pads = (0.0, 0.0, h0 * extra.uniform(0.3, 2), h0 * extra.uniform(0.5, 2))
    out = _on_sheet(lines, cells, origins, printed, grid, margin, pads, opts)
    out["border"] = border
    return out


def _onto_border(origin, ink_box, cell_box, border, extra) -> tuple[int, int]:
    """Move a character so its ink reaches one side of its printed box's border line."""
    x0, y0 = origin
    side = int(extra.integers(0, 4))
    into = int(round(extra.uniform(0, 1) * border))
    if side == 0:                             # left
        x0 = cell_box[0] + border - into - ink_box[0]
    elif side == 1:                           # right
        x0 = cell_box[2] - border + into - ink_box[2]
    elif side == 2:                           # top
        y0 = cell_box[1] + border - into - ink_box[1]
    else:                                     # bottom
        y0 = cell_box[3] - border + into - ink_box[3]
    return int(x0), int(y0)


# -- onto the sheet --------------------------------------------------------------------------------

def _on_sheet(lines, cells, origins, printed, grid, margin, pads, opts: Options) -> dict:
    """Shift everything so the ink sits inside the margins (plus `pads` (left, top, right,
    bottom) of more paper) and crop cells to the sheet."""
    boxes = np.array([ch["box"] for ln in lines for w in ln["words"] for ch in w["chars"]]
                     + list(grid))
    cell_y0 = np.array([o[0] for o in origins], dtype=np.int64)
    cell_x0 = np.array([o[1] for o in origins], dtype=np.int64)
    top = min(boxes[:, 1].min(), 0)
    left = min(boxes[:, 0].min(), 0)
    dy, dx = int(round(margin)) - top, int(round(margin)) - left
    height = int(boxes[:, 3].max() + dy + margin)
    width = int(boxes[:, 2].max() + dx + margin)
    if pads is not None:
        dx, dy = dx + int(pads[0]), dy + int(pads[1])
        width, height = width + int(pads[0] + pads[2]), height + int(pads[1] + pads[3])
    final_cells, final_origins = _crop(cells, cell_y0 + dy, cell_x0 + dx, height, width)
    p_masks = [m for m, _ in printed]
    p_y0 = np.array([o[0] for _, o in printed], dtype=np.int64) + dy
    p_x0 = np.array([o[1] for _, o in printed], dtype=np.int64) + dx
    final_printed = list(zip(*_crop(p_masks, p_y0, p_x0, height, width))) if printed else []
    refs = []
    k = 0
    for ln in lines:
        ln["box"] = _move(ln["box"], dx, dy)
        ln["baseline"] = tuple((round(x + dx, 1), round(y + dy, 1)) for x, y in ln["baseline"])
        if "cells" in ln:
            ln["cells"] = [_move(b, dx, dy) for b in ln["cells"]]
        for w in ln["words"]:
            w["box"] = _move(w["box"], dx, dy)
            for ch in w["chars"]:
                ch["box"] = _move(ch["box"], dx, dy)
                if "baseline" in ch:
                    ch["baseline"] = (round(ch["baseline"][0] + dx, 1),
                                      round(ch["baseline"][1] + dy, 1))
                if "cell" in ch:
                    ch["cell"] = _move(ch["cell"], dx, dy)
                ref = ch.pop("_ref", None)
                if ref is None:
                    ref = ("ink", k)
                    k += 1
                refs.append(ref)
    return {"shape": (height, width), "ink": list(zip(final_cells, final_origins)),
            "printed": final_printed, "lines": lines, "refs": refs, "shift": (dx, dy),
            "rules": None, "margin_x": None,
            "grid": [_move(b, dx, dy) for b in grid], "border": 0, "holes": []}


def _crop(cells, y0s, x0s, height, width):
    """Cells may stick out of the page where they hold no ink: crop them to the page."""
    out_cells, out_origins = [], []
    for cell, y0, x0 in zip(cells, y0s, x0s):
        ya, xa = max(0, -y0), max(0, -x0)
        yb, xb = min(cell.shape[0], height - y0), min(cell.shape[1], width - x0)
        out_cells.append(cell[ya:yb, xa:xb])
        out_origins.append((int(y0 + ya), int(x0 + xa)))
    return out_cells, out_origins


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
