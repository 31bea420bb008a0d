"""Stage 3, segment: ink map -> character boxes grouped into lines and words.

    ink, scale = ink_map(grey_page)               # ink 1 on paper 0, lighting removed
    lines, labels = find_characters(ink)          # [[word: [Box, ...], ...], ...] top to bottom

Steps, all whole-image numpy/scipy/scikit-image operations on the ink map of
ocrkit.page.clean:

1. **Characters**: connected components; specks (much smaller than the median character, such
   as the dots after "1.") are dropped; pieces that overlap horizontally within a line are
   merged (broken strokes); components much wider than a character are split at the weakest
   columns (touching characters). More than MAX_BLOBS components (noise, dithering) is refused.
2. **Lines**: boxes sorted by centre height and cut where the next centre is more than half a
   character height lower; each line sorted left to right.
3. **Words**: a gap starts a new word when it is clearly wider than the line's usual gap
   between letters (relative to that line's own statistics and the character height).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.measure import label

from ocrkit.errors import OcrkitError
from ocrkit.page.clean import ink_mask

MAX_BLOBS = 5000         # more components than this (after specks) is not a page of writing


@dataclass
class Box:
    """A character's box in working-image pixels: rows y0:y1, columns x0:x1."""

    y0: int
    x0: int
    y1: int
    x1: int
    labels: tuple = ()          # component labels making up the character

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def merged(self, other: "Box") -> "Box":
        return Box(min(self.y0, other.y0), min(self.x0, other.x0), max(self.y1, other.y1),
                   max(self.x1, other.x1), self.labels + other.labels)


def find_characters(ink: np.ndarray) -> tuple[list[list[list[Box]]], np.ndarray]:
    """Ink map -> (lines (top to bottom) of words (left to right) of character boxes, the
    component label image the boxes' `labels` refer to).

    An OcrkitError when more than MAX_BLOBS components are left after speck removal (noise,
    dithering or a photo rather than a page of writing)."""
    mask = ink_mask(ink)
    labels = label(mask, connectivity=2)
    found = ndimage.find_objects(labels)
    if not found:
        return [], labels
    bbox = np.array([(r.start, c.start, r.stop, c.stop) for r, c in found])  # y0 x0 y1 x1
    sizes = np.maximum(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1])
    # the typical character: median size of the components that are not tiny
    typical = float(np.median(sizes[sizes >= 0.3 * np.percentile(sizes, 90)]))
    keep = np.flatnonzero(sizes >= 0.3 * typical)
    if len(keep) > MAX_BLOBS:
        raise OcrkitError(f"{len(keep)} ink blobs; this does not look like a page of "
                          "hand-printed characters")
    boxes = [Box(*map(int, bbox[i]), labels=(int(i) + 1,)) for i in keep]
    boxes = _merge_pieces(boxes, typical)
    boxes = [b for b in boxes if max(b.h, b.w) >= 0.45 * typical]
    boxes = _split_wide(boxes, mask, typical)
    lines = _group_lines(boxes)
    return [_group_words(line) for line in lines], labels


def _merge_pieces(boxes: list[Box], typical: float) -> list[Box]:
    """Merge boxes that overlap horizontally by most of the narrower one and sit close
    vertically (the parts of a broken character).

    A sweep left to right: each box is compared, in one numpy step, only with the merged boxes
    that still reach past its left edge, so n boxes cost O(n k) for k overlapping in x.
    """
    boxes = sorted(boxes, key=lambda b: b.x0)
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        edges = np.empty((len(boxes), 4))       # (y0, x0, y1, x1) of out[i]
        active = np.empty(0, np.int64)          # indices into out reaching right of b.x0
        for b in boxes:
            active = active[edges[active, 3] > b.x0]
            a = edges[active]
            overlap = np.minimum(a[:, 3], b.x1) - np.maximum(a[:, 1], b.x0)
            vgap = np.maximum(a[:, 0], b.y0) - np.minimum(a[:, 2], b.y1)
            span = np.maximum(a[:, 2], b.y1) - np.minimum(a[:, 0], b.y0)
            hit = np.flatnonzero((overlap > 0.5 * np.minimum(a[:, 3] - a[:, 1], b.w))
                                 & (vgap < 0.25 * typical) & (span < 1.5 * typical))
            if len(hit):
                i = active[hit[0]]
                out[i] = out[i].merged(b)
                edges[i] = (out[i].y0, out[i].x0, out[i].y1, out[i].x1)
                merged = True
            else:
                edges[len(out)] = (b.y0, b.x0, b.y1, b.x1)
                active = np.append(active, len(out))
                out.append(b)
        boxes = out
    return boxes


def _split_wide(boxes: list[Box], mask: np.ndarray, typical: float) -> list[Box]:
    """Split a box much wider than tall into characters at its weakest ink columns."""
    out = []
    for b in boxes:
        n = int(round(b.w / (0.9 * max(b.h, 0.6 * typical))))
        if b.w < 1.75 * b.h or n < 2:
            out.append(b)
            continue
        profile = mask[b.y0:b.y1, b.x0:b.x1].sum(axis=0).astype(float)
        cuts = []
        for k in range(1, n):
            centre = int(k * b.w / n)
            lo, hi = max(1, centre - b.w // (3 * n)), min(b.w - 1, centre + b.w // (3 * n))
            cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else centre)
        edges = [0] + cuts + [b.w]
        for left, right in zip(edges[:-1], edges[1:]):
            cols = mask[b.y0:b.y1, b.x0 + left:b.x0 + right]
            rows = np.flatnonzero(cols.any(axis=1))
            if len(rows):
                out.append(Box(b.y0 + rows[0], b.x0 + left, b.y0 + rows[-1] + 1, b.x0 + right,
                               b.labels))
    return out


def _group_lines(boxes: list[Box]) -> list[list[Box]]:
    boxes = sorted(boxes, key=lambda b: b.cy)
    h = float(np.median([b.h for b in boxes]))
    lines, current = [], [boxes[0]]
    for b in boxes[1:]:
        if b.cy - np.mean([c.cy for c in current[-3:]]) > 0.5 * h:
            lines.append(current)
            current = [b]
        else:
            current.append(b)
    lines.append(current)
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _group_words(line: list[Box]) -> list[list[Box]]:
    h = float(np.median([b.h for b in line]))
    # gaps between letters, in character heights; a thin letter (1, I) counts as 0.6 h wide
    # about its centre, so its narrow box does not look like a space
    half = [max(b.w, 0.6 * h) / 2 for b in line]
    centre = [(b.x0 + b.x1) / 2 for b in line]
    gaps = np.array([(centre[i + 1] - centre[i] - half[i] - half[i + 1]) / h
                     for i in range(len(line) - 1)])
    spaces = word_spaces(gaps)
    words, current = [], [line[0]]
    for space, b in zip(spaces, line[1:]):
        if space:
            words.append(current)
            current = [b]
        else:
            current.append(b)
    words.append(current)
    return words


def word_spaces(gaps: np.ndarray) -> np.ndarray:
    """Which gaps (in character heights) of one line are spaces between words.

    The gaps are split into two groups (least within-group variance); the wider group are
    spaces only when it is clearly apart from the narrow one (at least 2.2 times as wide and
    half a character more). Otherwise the line is one word, except for gaps wider than 1.6
    character heights. With fewer than three gaps, a gap over one character height is a space.
    """
    gaps = np.asarray(gaps, float)
    if len(gaps) < 3:
        return gaps > 1.0
    s = np.sort(gaps)
    costs = [np.var(s[:k]) * k + np.var(s[k:]) * (len(s) - k) for k in range(1, len(s))]
    k = int(np.argmin(costs)) + 1
    lo, hi = float(s[:k].mean()), float(s[k:].mean())
    if hi >= max(2.2 * max(lo, 0.15), lo + 0.5):
        return gaps > (s[k - 1] + s[k]) / 2
    return gaps > 1.6
