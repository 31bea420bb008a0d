"""Stage 2, clean: grey page -> the ink that is writing, at a working resolution.

    cleaned = clean(grey)          # Cleaned(ink, mask, scale, angle, height, stroke, ...)

1. **Working resolution** from the writing itself: a quick look at about 1,000 pixels a side
   measures the typical character height and stroke width, and the page is resampled so
   characters are about HEIGHT pixels tall (never thinner strokes than STROKE_MIN pixels,
   never more than MAX_WORK_PIXELS), so a 13 MP phone photo costs what a 1 MP scan does.
   It is never enlarged, unless the writing is under SMALL_HEIGHT: then to ENLARGED.
2. **Lighting**: the paper's brightness is estimated with a grey closing wider than any
   stroke and a blur, and the page divided by it: shadows, vignetting, colour casts and a dark
   table become flat "paper"; ink = 1 - page / paper.
3. **Ink**: hysteresis between half and the full Otsu level keeps faint parts of strokes that
   touch strong ones and drops faint show-through and most printed rules.
4. **Skew**: the angle (up to MAX_SKEW degrees) whose horizontal projection of the ink is the
   sharpest; the page is rotated upright by it. On ruled paper that is the rules' angle, so
   once they are gone (step 5) the writing is measured again and turned on its own.
5. **Lines and boxes**: long thin horizontal runs (ruled paper, form lines, underlines) and
   vertical runs that are long or join two horizontal lines (box borders, margins) are
   removed, except where a character's stroke crosses them (a vertical closing of what is
   left restores the crossing).
6. **Clutter**: what lies around the sheet (darker than the paper and textured, far darker,
   or of another hue), what touches the frame (table edges, other scraps, a hand), blobs far
   larger than characters (punch holes, faces, shadows) and specks are not writing.

Every step is whole-image numpy/scipy work, linear in pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, threshold_otsu

LOOK_SIDE = 1024            # the first look at a page: at most this many pixels a side
HEIGHT = 40.0               # typical character height at working resolution, pixels
STROKE_MIN = 2.5            # ... unless strokes would get thinner than this, pixels
MAX_WORK_PIXELS = 3e6       # working images hold at most this many pixels (the NIST form at
#                             4.5e6: 24.9% CER in 4.8 s; 3e6: 23.1% in 3.4 s; 2e6: 26.0%)
SMALL_HEIGHT = 20.0         # writing smaller than this (a webcam's, a thumbnail's) ...
ENLARGED = 30.0             # ... is enlarged to this height; otherwise never enlarged
MAX_SKEW = 10.0             # degrees
RULED = 0.1                 # a page is ruled when its rules were this share of the ink left
WRITING_TURN = 1.0          # ... and its writing, when this many degrees off them, is turned
RULE_LENGTH = 2.5           # a horizontal run this many character heights long is a rule
MARGIN_LENGTH = 2.5         # a vertical run this long is a margin or frame line
OFF_DARK = 0.45             # ... or, whatever they hold, darker than this share of the paper
OFF_HUE = 0.35              # ... or this far from its hue (chromaticity distance) ...
OFF_HUE_DARK = 0.8          # ... and darker than this share of it
OFF_GAP = 0.2               # gaps in what is off the sheet this share of it are off it too
BAND_INK = 0.35             # a row along a side this much "ink" is texture, not writing ...
BAND_DEPTH = 0.12           # ... up to this share of the image from the side
RULE_PIECE = 2.0            # a rule holds a piece at least this many heights long somewhere
STRIP_STROKES = 25.0        # _rule_rows' strips: 4 heights wide, a height at most this many strokes
RULE_COVER = 0.25           # share of a strip's width a rule's row of ink covers


@dataclass
class Cleaned:
    """The writing of a page at working resolution, ready for segmentation.

    ink: float32 (h, w) in [0, 1], ink 1 on paper 0, lines and clutter removed; mask: bool,
    the same pixels thresholded; scale: working pixels per input pixel; angle: degrees the
    input's lines rose to the right (it was turned clockwise by that to make them level); height, stroke: typical character
    height and stroke width in working pixels; shape: the input's (h, w); removed: pixel counts
    of what each step took out."""

    ink: np.ndarray
    mask: np.ndarray
    scale: float
    angle: float
    height: float
    stroke: float
    shape: tuple
    removed: dict = field(default_factory=dict)
    grey: str = "luma"

    def to_input(self, boxes) -> np.ndarray:
        """Boxes (n, 4) (x0, y0, x1, y1) in working pixels -> the input image's pixels: the
        axis-aligned box of each box's corners turned back by `angle` and scaled."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        h, w = self.mask.shape
        cx, cy = w / 2, h / 2
        t = np.deg2rad(self.angle)
        cos, sin = np.cos(t), np.sin(t)
        xs = b[:, [0, 2, 2, 0]] - cx
        ys = b[:, [1, 1, 3, 3]] - cy
        # the working image is the input turned clockwise by `angle` about its centre (see
        # rotate); turning back is counter-clockwise, in image coordinates (y down)
        x_in = cos * xs + sin * ys
        y_in = -sin * xs + cos * ys
        ih, iw = self.shape
        sh, sw = ih * self.scale, iw * self.scale            # input size in working pixels
        x_in = (x_in + sw / 2) / self.scale
        y_in = (y_in + sh / 2) / self.scale
        out = np.stack([x_in.min(1), y_in.min(1), x_in.max(1), y_in.max(1)], axis=1)
        out = np.round(out)
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, iw)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, ih)
        return out.astype(np.int64)


def resample(image: np.ndarray, scale: float) -> np.ndarray:
    """An image (uint8 grey or RGB, or float32 grey) resized by `scale` (box filter down,
    bilinear up), same dtype."""
    from PIL import Image
    h, w = image.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    if size == (w, h):
        return image
    method = Image.BOX if scale < 1 else Image.BILINEAR
    pil = Image.fromarray(image, mode="F") if image.dtype == np.float32 else \
        Image.fromarray(image)
    return np.asarray(pil.resize(size, method), dtype=image.dtype)


def flatten(grey: np.ndarray, size: float) -> np.ndarray:
    """Ink map: 1 - grey / paper, the paper's brightness from a grey closing `size` pixels
    wide (wider than any stroke) at a quarter of the resolution, blurred."""
    step = max(1, int(size // 12))
    small = grey[::step, ::step]
    k = max(3, int(size / step) | 1)
    paper = ndimage.grey_closing(small, size=(k, k))
    paper = ndimage.uniform_filter(paper, k)
    if step > 1:
        paper = np.repeat(np.repeat(paper, step, 0), step, 1)[:grey.shape[0], :grey.shape[1]]
    ink = 1.0 - grey / np.maximum(paper, 1e-3)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def threshold(ink: np.ndarray, sheet: np.ndarray | None = None) -> np.ndarray:
    """Binary ink: hysteresis between half and the full Otsu level of the ink map; given the
    `sheet` pixels, the higher of that level and the sheet's own: a table's texture around a
    sheet pulls the whole map's level down into the paper's grain (its specks become ink on
    the letters), while a dark background raises it above a faint pen's vignetted sheet,
    whose own level would take the vignette for ink. The sheet's level counts once the sheet
    is at least 5% of the map. `make robustness`, the seven variants' mean: 15.3% -> 13.9%
    (turned 4 degrees 22.2 -> 14.9% and 16.6 -> 14.4%; worse as is, 12.1 -> 12.6%, and in the
    JPEG, 14.9 -> 15.6%); the sheet's level alone 14.3%. The dev pages as they are 11.4 ->
    11.6%. (A page turned by the deskew has zero-ink corners, which count as sheet.)"""
    if ink.size == 0 or float(ink.max()) < 0.08:
        return np.zeros(ink.shape, bool)
    level = max(float(threshold_otsu(ink)), 0.12)
    if sheet is not None and sheet.sum() >= 0.05 * ink.size:
        level = max(level, float(threshold_otsu(ink[sheet])))
    return apply_hysteresis_threshold(ink, 0.5 * level, level)


def measure(mask: np.ndarray) -> tuple[float, float]:
    """(typical character height, stroke width) of a binary page, in its pixels.

    Stroke: twice the median distance-to-paper on the strokes' ridges. Height: the median
    height of the components that look like pen strokes: taller than three strokes (not rule
    pieces or specks), no thicker than a few strokes anywhere (not holes, binding or
    shadows), not page-sized, and among the larger ones (dots, commas and broken pieces are
    smaller)."""
    h, w = mask.shape
    text = mask & ~long_runs(mask, max(20, w // 8))
    labels, n = ndimage.label(text, np.ones((3, 3), bool))
    if n == 0:
        return 0.0, 0.0
    stroke = stroke_width(text) or 1.0
    dist = ndimage.distance_transform_edt(text)
    objs = ndimage.find_objects(labels)
    heights = np.array([o[0].stop - o[0].start for o in objs], float)
    widths = np.array([o[1].stop - o[1].start for o in objs], float)
    thickest = 2.0 * component_max(dist, labels, n)
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(float)
    ok = ((heights >= max(4.0, 3.0 * stroke)) & (heights < h / 3) & (widths < w / 3)
          & (thickest <= 5.0 * stroke + 2))
    if ok.sum() < 1:
        return 0.0, stroke
    # the height that half of the writing's ink is in components up to: a few big letters
    # outweigh many fragments of rules, specks and show-through
    order = np.argsort(heights[ok])
    cumulative = np.cumsum(area[ok][order])
    return float(heights[ok][order][np.searchsorted(cumulative, cumulative[-1] / 2)]), stroke


def stroke_width(mask: np.ndarray) -> float:
    """Twice the median distance to paper on the ridges of the strokes (0 for no ink)."""
    if not mask.any():
        return 0.0
    dist = ndimage.distance_transform_edt(mask)
    ridge = mask & (dist >= ndimage.maximum_filter(dist, 3))
    return 2.0 * float(np.median(dist[ridge]))


def long_runs(mask: np.ndarray, length: int, axis: int = 1) -> np.ndarray:
    """Pixels of `mask` in runs at least `length` long along `axis` (1: rows, 0: columns),
    counted on the mask thickened by one pixel across the runs so a slightly slanted or
    curved thin line still forms long runs."""
    m = mask if axis == 1 else mask.T
    thick = m.copy()
    thick[1:] |= m[:-1]
    thick[:-1] |= m[1:]
    padded = np.zeros((thick.shape[0], thick.shape[1] + 2), np.int8)
    padded[:, 1:-1] = thick
    d = np.diff(padded, axis=1)
    rows_s, cols_s = np.nonzero(d == 1)
    rows_e, cols_e = np.nonzero(d == -1)       # same order: row-major, one end per start
    keep = (cols_e - cols_s) >= length
    out = np.zeros(thick.shape[0] * (thick.shape[1] + 1), np.int32)
    starts = rows_s[keep] * (thick.shape[1] + 1) + cols_s[keep]
    ends = rows_e[keep] * (thick.shape[1] + 1) + cols_e[keep]
    np.add.at(out, starts, 1)
    np.add.at(out, ends, -1)
    runs = np.cumsum(out).reshape(thick.shape[0], thick.shape[1] + 1)[:, :-1] > 0
    runs &= m
    return runs if axis == 1 else runs.T


def skew_angle(mask: np.ndarray, max_angle: float = MAX_SKEW, step: float = 0.25) -> float:
    """The angle (degrees, counter-clockwise positive) that makes the ink's lines level: the
    one whose sheared row profile has the largest variance (sharpest lines)."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return 0.0
    if len(ys) > 200_000:
        pick = np.random.default_rng(0).choice(len(ys), 200_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    xs = xs - mask.shape[1] / 2
    best, best_score = 0.0, -1.0
    for coarse in (True, False):
        if coarse:
            angles = np.arange(-max_angle, max_angle + 1e-9, 1.0)
        else:
            angles = np.arange(best - 1.0, best + 1.0 + 1e-9, step)
        for a in angles:
            rows = np.round(ys + xs * np.tan(np.deg2rad(a))).astype(np.int64)
            rows -= rows.min()
            profile = np.bincount(rows).astype(float)
            score = float(np.sum(profile ** 2))
            if score > best_score:
                best, best_score = float(a), score
    return best


def rotate(image: np.ndarray, angle: float, order: int = 1) -> np.ndarray:
    """Turn `image` clockwise (as displayed) by `angle` degrees about its centre, same shape,
    the corners filled with 0 (order 1: bilinear, 0: nearest; bool stays bool): lines that
    rise to the right by `angle` become level."""
    if abs(angle) < 1e-6:
        return image
    from PIL import Image
    is_bool = image.dtype == bool
    pil = Image.fromarray(image.astype(np.float32), mode="F")
    method = Image.BILINEAR if order else Image.NEAREST
    out = np.asarray(pil.rotate(-angle, resample=method, fillcolor=0), dtype=np.float32)
    return out > 0.5 if is_bool else out


def component_max(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The largest value of `values` in each component 1..n of `labels`: (n,) float."""
    inside = labels > 0
    out = np.zeros(n + 1, np.float64)
    np.maximum.at(out, labels[inside], values[inside])
    return out[1:]


def close_1d(mask: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Binary closing along one axis with a line `size` long (bridges gaps shorter than it)."""
    m = mask.view(np.uint8)
    grown = ndimage.maximum_filter1d(m, size, axis=axis)
    return ndimage.minimum_filter1d(grown, size, axis=axis).astype(bool)


def remove_lines(mask: np.ndarray, height: float, stroke: float) -> tuple[np.ndarray, dict]:
    """Take ruled lines, form lines and box borders out of a binary page, keeping the parts of
    characters that cross them. Returns (mask, {"rules": px, "borders": px})."""
    horizontal = long_runs(mask, max(8, int(RULE_LENGTH * height)), axis=1)
    horizontal |= _rule_rows(mask, height, stroke)
    vertical = _borders(mask, horizontal, height, stroke)
    lines = horizontal | vertical
    if not lines.any():
        return mask, {"rules": 0, "borders": 0}
    # keep the line's pixels where a character's stroke runs on out of it: a stroke that
    # crosses a rule, sits on it or lies along it (the foot of an L on its baseline) has ink
    # in the same column (row, for vertical lines) beyond the line's own pixels
    kept = runs_leaving(mask, horizontal, axis=0) | runs_leaving(mask, vertical, axis=1)
    out = (mask & ~lines) | kept
    return out, {"rules": int((horizontal & ~kept).sum()),
                 "borders": int((vertical & ~horizontal & ~kept).sum())}


def runs_leaving(mask: np.ndarray, part: np.ndarray, axis: int, min_out: int = 2) -> np.ndarray:
    """Pixels of `part` whose run of `mask` along `axis` (0: columns, 1: rows) has at least
    `min_out` pixels outside `part`."""
    m = mask.T if axis == 0 else mask
    p = part.T if axis == 0 else part
    flat, pflat = np.ascontiguousarray(m).ravel(), np.ascontiguousarray(p).ravel()
    starts = flat.copy()
    starts[1:] &= ~flat[:-1]
    starts[::m.shape[1]] = flat[::m.shape[1]]             # a run never spans two lines
    ids = np.cumsum(starts) * flat
    outside = np.bincount(ids, weights=flat & ~pflat)
    keep = (pflat & (outside[ids] >= min_out)).reshape(m.shape)
    return keep.T if axis == 0 else keep


def _rule_rows(mask: np.ndarray, height: float, stroke: float) -> np.ndarray:
    """The ink on the rows of ruled paper.

    A rule's row is a thin peak of the row profile of long runs (runs of thin ink longer than
    half a character): it covers more than RULE_COVER of the width, and rows a few pixels
    above and below hold far less (a line of writing spreads its long strokes over its whole
    height). Rows are found strip by strip, so rules that curve or drift a little are
    followed; a strip's row counts when it holds a piece longer than any letter's bar
    (RULE_PIECE heights), or continues such a row of a neighbouring strip within a few
    pixels: a rule runs on across the page, while a row of capitals' bars (the feet of L E Z
    on one baseline) stops with its line. Every horizontal run of ink on a rule's rows,
    however short, is the rule's: a rule the threshold broke into pieces goes out whole."""
    hh, ww = mask.shape
    # only thin ink can be a rule: take out what is thicker, top to bottom, than a stroke or
    # two (letters' stems, blobs, binding), so it neither counts nor hides a rule's row
    k = int(2 * stroke + 3)
    m8 = mask.view(np.uint8)
    thick = ndimage.maximum_filter1d(ndimage.minimum_filter1d(m8, k, axis=0), k, axis=0)
    thin = mask & ~thick.astype(bool)
    pieces = long_runs(thin, max(6, int(0.5 * height)), axis=1)
    longest = long_runs(thin, int(max(RULE_PIECE * height, 4 * stroke)), axis=1)
    d = int(max(3, 1.5 * stroke + 1))
    # strips four characters wide, but characters counted no taller than STRIP_STROKES
    # strokes: a rule drifts off its row across a wide strip, and big letters in a thin pen
    # (a name across a notebook) made strips of half the page
    width = int(max(4 * min(height, STRIP_STROKES * stroke), ww / 8))
    edges = list(range(0, ww, width))
    if len(edges) > 1 and ww - edges[-1] < width // 2:
        edges.pop()
    strips = list(zip(edges, edges[1:] + [ww]))
    candidate, sure = [], []
    for x0, x1 in strips:
        cover = pieces[:, x0:x1].sum(1) / max(x1 - x0, 1)
        band = ndimage.convolve1d(cover, np.ones(3), mode="constant")   # same length
        around = np.maximum(np.roll(band, d), np.roll(band, -d))
        found = (band > RULE_COVER) & (around < 0.35 * band)
        has_long = ndimage.convolve1d(longest[:, x0:x1].any(1).astype(np.float32), np.ones(5),
                                     mode="constant") > 0
        # the rule's own rows: those near a peak holding at least half of its densest row
        # (not the rows of a letter's bar lying on it, which would go with it)
        near = ndimage.binary_dilation(found, iterations=2)
        top = ndimage.maximum_filter1d(cover, 5)
        rows = near & (cover >= 0.5 * top) & (cover > 0)
        candidate.append(rows)
        sure.append(rows & ndimage.binary_dilation(found & has_long, iterations=2))
    # a candidate row holds when it continues a sure row of a neighbouring strip
    tol = max(3, int(stroke))
    changed = True
    while changed:
        changed = False
        for s in range(len(strips)):
            for t in (s - 1, s + 1):
                if 0 <= t < len(strips) and sure[t].any():
                    grown = candidate[s] & ndimage.binary_dilation(sure[t], iterations=tol)
                    if (grown & ~sure[s]).any():
                        sure[s] = sure[s] | _whole_rows(candidate[s], grown)
                        changed = True
    out = np.zeros_like(mask)
    short = long_runs(mask, 3, axis=1)
    for (x0, x1), rows in zip(strips, sure):
        if rows.any():
            out[:, x0:x1] |= short[:, x0:x1] & rows[:, None]
    return out


def _whole_rows(rows: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The runs of True in `rows` (1-D) that `seed` touches."""
    labels, n = ndimage.label(rows)
    hit = np.unique(labels[seed & rows])
    return np.isin(labels, hit[hit > 0])


def _borders(mask, horizontal, height: float, stroke: float) -> np.ndarray:
    """The vertical lines of a page: long straight runs (margins, frames), and the sides of
    printed boxes: straight runs that start and end on a horizontal line, go no further, and
    come three or more to a row (a letter's strokes between two rules are seldom straight,
    and run on through a rule when they cross it)."""
    runs = long_runs(mask, max(8, int(0.6 * height)), axis=0)
    if not runs.any():
        return runs
    labels, n = ndimage.label(runs, np.ones((3, 3), bool))
    objs = ndimage.find_objects(labels)
    b = np.array([(o[0].start, o[1].start, o[0].stop, o[1].stop) for o in objs])
    top, x0, bottom, x1 = b.T
    length, width = bottom - top, x1 - x0
    straight = width <= np.maximum(3, 2.0 * stroke + 0.05 * length)
    hh, ww = mask.shape
    xc = (x0 + x1) // 2
    near = ndimage.binary_dilation(horizontal, np.ones((5, 5), bool))
    on_top = near[top, xc] & ~mask[np.maximum(top - 3, 0), xc]
    on_bottom = near[bottom - 1, xc] & ~mask[np.minimum(bottom + 2, hh - 1), xc]
    side = straight & on_top & on_bottom
    # three or more sides sharing a row of boxes (same top and bottom within a stroke or so)
    if side.any():
        tol = max(3.0, 1.5 * stroke)
        idx = np.flatnonzero(side)
        same = ((np.abs(top[idx, None] - top[None, idx]) <= tol)
                & (np.abs(bottom[idx, None] - bottom[None, idx]) <= tol))
        side[idx] = same.sum(1) >= 3
    keep = np.concatenate([[False], side | (straight & (length >= MARGIN_LENGTH * height))])
    return keep[labels]


EDGE_HEIGHT = 2.2   # what touches the frame is clutter when taller than this many heights ...
EDGE_WIDTH = 3.5    # ... or wider than this many


def remove_clutter(mask: np.ndarray, height: float, stroke: float) -> tuple[np.ndarray, dict]:
    """Drop components that are not writing: touching the frame (table edges, scraps, a hand),
    far taller than a character or far larger in area (holes, faces, shadows), and specks.
    Returns (mask, {"clutter": px, "specks": px})."""
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    if n == 0:
        return mask, {"clutter": 0, "specks": 0}
    objs = ndimage.find_objects(labels)
    box = np.array([(o[0].start, o[1].start, o[0].stop, o[1].stop) for o in objs])
    hh, ww = mask.shape
    heights = box[:, 2] - box[:, 0]
    widths = box[:, 3] - box[:, 1]
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    edge = (box[:, 0] <= 1) | (box[:, 1] <= 1) | (box[:, 2] >= hh - 1) | (box[:, 3] >= ww - 1)
    # ... unless it is the size of a character (a photo cropped close to the writing): an
    # ascender's letter is up to about twice the measured height (an x-height on a lower-case
    # page), two or three joined letters several heights wide
    edge &= (heights > EDGE_HEIGHT * height) | (widths > EDGE_WIDTH * height)
    solid = (area > 0.7 * heights * widths) & (np.minimum(heights, widths) > 0.3 * height)
    huge = (heights > 3.0 * height) | (area > 6.0 * height * height) | solid
    speck = np.maximum(heights, widths) < 0.12 * height
    # what is left of a rule: a thin straight horizontal piece, longer than a dash
    huge |= (heights <= 2.5 * stroke + 2) & (widths >= 1.2 * height)
    drop = np.concatenate([[False], edge | huge | speck])
    clutter = np.concatenate([[False], edge | huge])
    out = mask & ~drop[labels]
    return out, {"clutter": int(mask[clutter[labels]].sum()),
                 "specks": int((mask & (drop & ~clutter)[labels]).sum())}


def page_grey(image: np.ndarray, how: str) -> np.ndarray:
    """uint8 (h, w) or (h, w, 3) -> uint8 grey (h, w): "max", the brightest channel, in which
    coloured rules and printed boxes (red, blue, green) fade into the paper while dark pens
    stay dark; "luma", the usual luminance, for coloured ink."""
    if image.ndim == 2:
        return image
    if how == "max":
        return image.max(axis=2)
    weights = np.array([54, 183, 19], np.uint16)              # 0.2125 0.7154 0.0721 of 256
    return ((image.astype(np.uint16) * weights).sum(2) >> 8).astype(np.uint8)


def to_float(grey: np.ndarray) -> np.ndarray:
    return grey.astype(np.float32) * np.float32(1 / 255)


def off_block(shape: tuple[int, ...]) -> int:
    """The side of off_sheet's block means, pixels of an image of `shape`."""
    return max(3, int(max(shape) / 30))


def off_sheet(grey: np.ndarray, mask: np.ndarray, colour: np.ndarray | None = None) -> np.ndarray:
    """What lies around the sheet (a table, cloth, a dark background), at `grey`'s size: the
    regions that reach the frame, are clearly darker than the paper (block means split by
    Otsu) and hold far more "ink" than writing does (wood grain, patterns, texture), or are
    less than OFF_DARK as bright as the paper whatever they hold (a smooth table), or, given
    the page in `colour` (uint8 RGB at grey's size), differ from the paper's hue by more than
    OFF_HUE (a wooden or coloured table beside white paper: a shadow darkens the paper but
    keeps its hue); and the gaps between them narrower than OFF_GAP of the image's longer
    side (a lighter plank)."""
    k = off_block(grey.shape)
    mean = ndimage.uniform_filter(grey, k)
    if float(mean.max() - mean.min()) < 0.1:
        return np.zeros(grey.shape, bool)
    dark = mean < threshold_otsu(mean)
    labels, n = ndimage.label(dark)
    if n == 0:
        return dark
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    count = np.bincount(labels.ravel(), minlength=n + 1).astype(float)
    inked = np.bincount(labels.ravel(), weights=mask.ravel(), minlength=n + 1)
    tone = np.bincount(labels.ravel(), weights=grey.ravel(), minlength=n + 1)
    light = float(grey[~dark].mean()) if (~dark).any() else 1.0
    off = np.zeros(n + 1, bool)
    off[edge] = True
    unlike = tone < OFF_DARK * light * count
    if colour is not None:
        unlike |= ((hue_distance(colour, labels, n, ~dark) > OFF_HUE)
                   & (tone < OFF_HUE_DARK * light * count))
    off &= (count >= 0.01 * grey.size) & (((inked > 0.4 * count)
                                           & (tone < (light - 0.15) * count)) | unlike)
    off[0] = False
    off = off[labels]
    # a strip of the table lighter than the rest between two of its dark parts (a notch in
    # the wood beside the sheet): gaps in what is off the sheet narrower than OFF_GAP of the
    # image, along rows and columns, are off it too
    gap = max(3, int(OFF_GAP * max(grey.shape))) | 1      # odd: a closing centred on a pixel
    pad = gap // 2 + 1
    for axis in (0, 1):
        if off.any():
            off |= close_1d(np.pad(off, pad, mode="edge"), gap, axis)[pad:-pad, pad:-pad]
    return off | border_bands(mask, off)


def hue_distance(colour: np.ndarray, labels: np.ndarray, n: int, paper: np.ndarray) -> np.ndarray:
    """(n + 1,): how far each region's mean chromaticity (r, g, b over their sum) lies from
    the paper's (the mean over `paper`), summed over the three."""
    rgb = colour.reshape(-1, 3).astype(np.float32) + 1.0
    chroma = rgb / rgb.sum(1, keepdims=True)
    count = np.maximum(np.bincount(labels.ravel(), minlength=n + 1), 1)
    means = np.stack([np.bincount(labels.ravel(), weights=chroma[:, i], minlength=n + 1)
                      for i in range(3)], 1) / count[:, None]
    white = chroma[paper.ravel()].mean(0) if paper.any() else np.full(3, 1 / 3, np.float32)
    return np.abs(means - white).sum(1)


def border_bands(mask: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Strips of texture along the image's sides too thin for off_sheet's block means (the
    table's last centimetre above a card): from each side inwards, the rows (columns) whose
    pixels not yet off the sheet are more than BAND_INK "ink", up to BAND_DEPTH of the image.
    Writing, even a line cropped close, inks far less of a whole row."""
    out = np.zeros(mask.shape, bool)
    free = ~off
    for axis in (0, 1):
        room = free.sum(1 - axis)
        inked = (mask & free).sum(1 - axis) / np.maximum(room, 1)
        dense = (inked > BAND_INK) & (room > 0.2 * mask.shape[1 - axis])
        depth = int(BAND_DEPTH * mask.shape[axis])
        for sl in (slice(0, depth), slice(-1, -depth - 1, -1)):
            run = np.cumprod(dense[sl]).astype(bool)
            rows = np.arange(mask.shape[axis])[sl][run]
            if len(rows):
                index = [slice(None), slice(None)]
                index[axis] = rows
                out[tuple(index)] = True
    return out & ~off


def clean(image: np.ndarray, *, rules: bool = True, clutter: bool = True,
          deskew: bool = True) -> Cleaned:
    """A page (any image array, see ocrkit.page.image.as_page_array: uint8 grey or colour is
    cheapest), dark ink on lighter paper -> Cleaned.

    `rules`, `clutter`, `deskew` switch those steps off (for tests and comparisons)."""
    from ocrkit.page.image import as_page_array
    image = as_page_array(image)
    shape = image.shape[:2]
    look = min(1.0, LOOK_SIDE / max(shape))
    small_image = resample(image, look)
    how, first = "luma", None
    for option in (("max", "luma") if image.ndim == 3 else ("luma",)):
        small = to_float(page_grey(small_image, option))
        inked = threshold(flatten(small, max(15.0, max(small.shape) / 40)))
        # the brightest channel, unless the ink itself is coloured (it fades there too)
        if first is None or inked.sum() > 2.0 * first.sum():
            how, first, small_grey = option, inked, small
    grey = page_grey(image, how)
    small = small_grey
    around = off_sheet(small, first, small_image if small_image.ndim == 3 else None) \
        if clutter else None
    if around is not None and around.any():
        first = first & ~around
    angle = skew_angle(first) if deskew else 0.0
    if abs(angle) < 0.25:
        angle = 0.0
    height_l, stroke_l = measure(rotate(first, angle, order=0) if angle else first)
    if height_l > 0:
        scale = look * max(HEIGHT / height_l, STROKE_MIN / max(stroke_l, 1.0))
    else:
        scale = min(1.0, 2000 / max(shape))
    # writing under SMALL_HEIGHT is enlarged to ENLARGED, not to HEIGHT, and writing between
    # them is left as it is: both read best so (measured on the dev pages at half size)
    small_writing = 0 < height_l < SMALL_HEIGHT * look
    up = ENLARGED * look / height_l if small_writing else 1.0
    scale = min(scale, up, float(np.sqrt(MAX_WORK_PIXELS / (shape[0] * shape[1]))))
    work = to_float(resample(grey, scale))
    height = height_l * scale / look if height_l > 0 else HEIGHT
    stroke = stroke_l * scale / look if height_l > 0 else STROKE_MIN
    ink = flatten(work, max(15.0, 1.5 * height))
    if angle:
        ink = rotate(ink, angle)
    big = None
    if around is not None and around.any():
        from PIL import Image
        big = np.asarray(Image.fromarray(around).resize(ink.shape[::-1], Image.NEAREST))
        big = rotate(big, angle, order=0) if angle else big
        # grown by half a character and by half off_sheet's block (its edge is only that
        # exact: the paper's own edge and the shadow along it lie in that margin)
        block = off_block(small.shape) * scale / look
        reach = 2 * max(1, int(0.5 * height), int(0.5 * block)) + 1
        big = ndimage.maximum_filter(big.view(np.uint8), reach).astype(bool)
    mask = threshold(ink, None if big is None else ~big)
    removed = {}
    if big is not None:
        removed["off_sheet"] = int((mask & big).sum())
        mask &= ~big
    if rules:
        mask, r = remove_lines(mask, height, stroke)
        removed.update(r)
    if clutter:
        mask, r = remove_clutter(mask, height, stroke)
        removed.update(r)
    if deskew and rules and removed.get("rules", 0) > RULED * mask.sum():
        # on ruled paper the angle found was the rules': writing that rises across them
        # (a photo's lines not quite parallel to the notebook's) is turned level on its own
        turn = skew_angle(mask, max_angle=max(0.0, MAX_SKEW - abs(angle)))
        if abs(turn) >= WRITING_TURN:
            mask, ink = rotate(mask, turn, order=0), rotate(ink * mask, turn)
            angle += turn
    ink = ink * mask
    return Cleaned(ink, mask, scale, angle, height, stroke, shape, removed, how)
