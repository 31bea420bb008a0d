"""Stage 3, segment: the cleaned ink -> lines of atoms, the pieces characters are made of.

    lines, atoms = segment(cleaned)      # [LineSegment], int32 atom label image

A character is one or more atoms side by side; which atoms go together (a touching pair cut
apart, a broken letter joined) is decided by recognition (ocrkit.page.cuts), not here. Steps,
whole-image numpy/scipy work:

1. **Components** of the ink (8-connected). Marks (much smaller than characters: dots, commas,
   specks) are kept aside. More than MAX_BLOBS components is not a page of writing.
2. **Lines**: components sorted by their centre's height join the line whose band (the median
   top and bottom of its members) they overlap most, by at least half their height; a new line
   starts otherwise. Ascenders and descenders overlap their line's band, so mixed and lower
   case group like capitals.
3. **Clusters**: in a line, components that overlap left to right by most of the narrower one
   (the dot of an i, the pieces of a broken stroke) are one cluster; marks right above or
   inside a cluster join it, other marks are dropped (punctuation is not read).
4. **Atoms**: a cluster wider than a character gets candidate cuts at the minima of its column
   ink profile (where touching letters meet), at most one per quarter of a character height;
   the pieces between cuts are its atoms.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ocrkit.errors import OcrkitError

MAX_BLOBS = 5000         # more components than this is not a page of writing
MARK = 0.3               # components under this share of the typical height are marks
WIDE = 0.8               # clusters wider than this many line heights get candidate cuts
CUT_SPACING = 0.22       # candidate cuts at least this many line heights apart
LOCAL = 6                # a line's band near a character: that of its this many nearest
PITCH_RUN = 5            # this many characters evenly spaced are a row of boxes ...
PITCH_TOLERANCE = 0.12   # ... each step within this share of their median step
CLIP = 2.0               # gaps are clipped at this many heights when splitting words
PHRASE = 1.6             # a gap this many heights wide is a space whatever the line's others
SMALL_LINE = 0.4         # lines whose characters are lower than this share of the page's
                         # typical height are fragments, not writing


@dataclass
class LineSegment:
    """One written line at working resolution: its atoms left to right.

    boxes: (k, 4) int (x0, y0, x1, y1) of each atom; ids: (k,) atom labels (in the atom
    image); cluster: (k,) the cluster each atom belongs to (atoms of one cluster were one piece
    of ink and were cut apart); height: the line's typical character height; band: (top,
    bottom) the median top and bottom of its characters."""

    boxes: np.ndarray
    ids: np.ndarray
    cluster: np.ndarray
    height: float
    band: tuple
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def components(mask: np.ndarray):
    """(labels, boxes (n, 4) x0 y0 x1 y1, areas (n,)) of the 8-connected ink components."""
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    if n > MAX_BLOBS:
        raise OcrkitError(f"{n} ink blobs; this does not look like a page of hand-printed "
                          "characters")
    objs = ndimage.find_objects(labels)
    boxes = np.array([(o[1].start, o[0].start, o[1].stop, o[0].stop) for o in objs],
                     np.int64).reshape(-1, 4)
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return labels, boxes, areas


def group_lines(boxes: np.ndarray, height: float | None = None) -> list[np.ndarray]:
    """Indices of `boxes` (x0, y0, x1, y1) grouped into lines, top to bottom, each left to
    right.

    Boxes are taken by the height of their centres; each joins the line whose band near it
    (the median top and bottom of the LOCAL members of that line nearest to it left to right,
    so a line may drift or slant) it sits in: its centre inside that band grown by a quarter,
    or overlapping it by half the smaller height; the nearest such band wins. Otherwise it
    starts a line."""
    n = len(boxes)
    if n == 0:
        return []
    order = np.argsort((boxes[:, 1] + boxes[:, 3]) / 2, kind="stable")
    xc = (boxes[:, 0] + boxes[:, 2]) / 2
    tops, bottoms = boxes[:, 1].astype(np.float64), boxes[:, 3].astype(np.float64)
    members: list[list[int]] = []
    for i in order:
        y0, y1 = float(boxes[i, 1]), float(boxes[i, 3])
        cy = (y0 + y1) / 2
        best, best_dist = -1, np.inf
        for k in range(max(0, len(members) - 12), len(members)):
            m = np.array(members[k])
            near = m[np.argsort(np.abs(xc[m] - xc[i]), kind="stable")[:LOCAL]]
            b0, b1 = _median(tops[near].tolist()), _median(bottoms[near].tolist())
            overlap = min(y1, b1) - max(y0, b0)
            grow = 0.25 * (b1 - b0)
            inside = b0 - grow <= cy <= b1 + grow
            dist = abs(cy - (b0 + b1) / 2)
            if (inside or overlap >= 0.5 * min(y1 - y0, b1 - b0)) and dist < best_dist:
                best, best_dist = k, dist
        if best < 0:
            members.append([int(i)])
        else:
            members[best].append(int(i))
    lines = [np.array(sorted(m, key=lambda j: (boxes[j, 0], boxes[j, 2]))) for m in members]
    lines.sort(key=lambda m: float(np.median((boxes[m, 1] + boxes[m, 3]) / 2)))
    return lines


def _median(values: list) -> float:
    """np.median of a few numbers, without numpy's overhead (group_lines takes two a box and
    candidate line)."""
    v = sorted(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def clusters_of(boxes: np.ndarray) -> np.ndarray:
    """Cluster number of each box of one line (sorted left to right): a box overlapping the
    current cluster's columns by more than half of the narrower of the two joins it."""
    cluster = np.zeros(len(boxes), np.int64)
    if len(boxes) == 0:
        return cluster
    c0, c1 = boxes[0, 0], boxes[0, 2]
    for i in range(1, len(boxes)):
        x0, x1 = boxes[i, 0], boxes[i, 2]
        overlap = min(c1, x1) - max(c0, x0)
        if overlap > 0.5 * min(c1 - c0, x1 - x0):
            cluster[i] = cluster[i - 1]
            c0, c1 = min(c0, x0), max(c1, x1)
        else:
            cluster[i] = cluster[i - 1] + 1
            c0, c1 = x0, x1
    return cluster


def cut_columns(mask: np.ndarray, height: float, stroke: float) -> list[int]:
    """Candidate cuts (columns, relative to the crop) through one wide cluster's mask: local
    minima of the column ink count that are thin (a stroke or two) or much lower than the
    columns around them, at least CUT_SPACING heights apart and from the ends."""
    w = mask.shape[1]
    profile = mask.sum(0).astype(np.float64)
    smooth = ndimage.convolve1d(np.asarray(profile, float), np.ones(3) / 3, mode="constant")
    gap = max(2, int(CUT_SPACING * height))
    peak = ndimage.maximum_filter1d(smooth, 2 * gap + 1)
    low = ndimage.minimum_filter1d(smooth, gap | 1)
    cand = np.flatnonzero((smooth <= low + 1e-9) & ((smooth <= 2.5 * stroke)
                                                   | (smooth <= 0.5 * peak)))
    cand = cand[(cand >= gap) & (cand <= w - gap)]
    cuts: list[int] = []
    for c in cand[np.argsort(smooth[cand], kind="stable")]:      # best (lowest) first
        if all(abs(int(c) - k) >= gap for k in cuts):
            cuts.append(int(c))
    return sorted(cuts)


FAINT_LINE = 0.6         # a one-atom line fainter than this share of the page's ink ...
FAINT_END = 0.5          # ... and atoms at a line's ends fainter than this share of its own
                         # are not writing: the shadow of a scrap's torn edge


def drop_faint(lines: list[LineSegment], atoms: np.ndarray, ink: np.ndarray
               ) -> list[LineSegment]:
    """Leave out strokes far fainter than the writing beside them: a line of one atom whose
    mean ink is under FAINT_LINE of the page's median atom, and, from either end of a longer
    line, atoms under FAINT_END of that line's median (a torn edge's shadow beside a word).
    A faint line of several atoms (a notebook's printed header) is kept: it is as faint as
    itself throughout."""
    if not lines:
        return lines
    strength = ndimage.mean(ink, atoms, np.arange(int(atoms.max()) + 1))
    page = float(np.median(np.concatenate([strength[line.ids] for line in lines])))
    out = []
    for line in lines:
        s = strength[line.ids]
        if len(line) == 1:
            if s[0] >= FAINT_LINE * page:
                out.append(line)
            continue
        faint = s < FAINT_END * np.median(s)
        first = int(np.argmin(faint)) if not faint.all() else len(s)
        last = len(s) - int(np.argmin(faint[::-1])) if not faint.all() else len(s)
        keep = slice(first, last)
        if first == 0 and last == len(s):
            out.append(line)
        elif first < last:
            out.append(LineSegment(line.boxes[keep], line.ids[keep], line.cluster[keep],
                                   line.height, line.band, line.info))
    return out


def segment(mask: np.ndarray, height: float, stroke: float
            ) -> tuple[list[LineSegment], np.ndarray]:
    """Binary page at working resolution -> (lines top to bottom, atom label image)."""
    labels, boxes, areas = components(mask)
    atoms = np.zeros(mask.shape, np.int32)
    if len(boxes) == 0:
        return [], atoms
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    main = np.flatnonzero(sizes >= MARK * height)
    marks = np.flatnonzero(sizes < MARK * height)
    if len(main) == 0:
        return [], atoms
    out: list[LineSegment] = []
    next_id = 1
    mark_used = np.zeros(len(boxes), bool)
    for line in group_lines(boxes[main], height):
        idx = main[line]
        b = boxes[idx]
        top, bottom = float(np.median(b[:, 1])), float(np.median(b[:, 3]))
        if bottom - top < SMALL_LINE * height:
            continue            # a row of fragments (a torn edge, specks), not writing
        line_h = max(bottom - top, 0.3 * height)
        # marks right above or inside a component of this line (i and j dots) join it
        members = list(idx)
        free = marks[~mark_used[marks]]
        if len(free):
            mb = boxes[free]
            near = np.flatnonzero((mb[:, 3] >= top - 1.0 * line_h) & (mb[:, 1] <= bottom))
            mcx = (mb[near, 0] + mb[near, 2])[:, None] / 2
            inside = ((b[None, :, 0] - 0.15 * line_h <= mcx)
                      & (mcx <= b[None, :, 2] + 0.15 * line_h)).any(1)
            taken = free[near[inside]]
            members.extend(int(m) for m in taken)
            mark_used[taken] = True
        members = np.array(sorted(members, key=lambda j: (boxes[j, 0], boxes[j, 2])))
        mb = boxes[members]
        cluster = clusters_of(mb)
        a_boxes, a_ids, a_cluster = [], [], []
        for c in range(int(cluster.max()) + 1):
            comp = members[cluster == c]
            cb = boxes[comp]
            x0, y0 = int(cb[:, 0].min()), int(cb[:, 1].min())
            x1, y1 = int(cb[:, 2].max()), int(cb[:, 3].max())
            window = np.isin(labels[y0:y1, x0:x1], comp + 1)
            cuts = cut_columns(window, line_h, stroke) if (x1 - x0) > WIDE * line_h else []
            edges = [0, *cuts, x1 - x0]
            for left, right in zip(edges[:-1], edges[1:]):
                part = window[:, left:right]
                rows = np.flatnonzero(part.any(1))
                if len(rows) == 0:
                    continue
                cols = np.flatnonzero(part.any(0))
                region = atoms[y0:y1, x0 + left:x0 + right]
                region[part] = next_id
                a_boxes.append((x0 + left + int(cols[0]), y0 + int(rows[0]),
                                x0 + left + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1))
                a_ids.append(next_id)
                a_cluster.append(c)
                next_id += 1
        if a_ids:
            out.append(LineSegment(np.array(a_boxes, np.int64), np.array(a_ids, np.int64),
                                   np.array(a_cluster, np.int64), line_h, (top, bottom)))
    return out, atoms


def even_pitch(centres: np.ndarray) -> np.ndarray:
    """Which gaps between neighbouring characters (centres (n,), left to right) lie inside a
    run of at least PITCH_RUN characters spaced evenly (each step within PITCH_TOLERANCE of
    the run's median step): a form's row of boxes, one character to a box. Such a row is one
    field however its characters' widths leave the gaps between their ink, and a space
    between words adds to its step, which ends the run. -> (n - 1,) bool."""
    run, tolerance = PITCH_RUN, PITCH_TOLERANCE
    steps = np.diff(np.asarray(centres, float))
    inside = np.zeros(len(steps), bool)
    start = 0
    while start <= len(steps) - (run - 1):
        end = start + run - 1                       # steps[start:end]: `run` characters
        if _even(steps[start:end], tolerance):
            while end < len(steps) and _even(steps[start:end + 1], tolerance):
                end += 1
            inside[start:end] = True
            start = end
        else:
            start += 1
    return inside


def _even(steps: np.ndarray, tolerance: float) -> bool:
    median = float(np.median(steps))
    return median > 0 and bool(np.all(np.abs(steps - median) <= tolerance * median))


def word_spaces(gaps: np.ndarray, phrases: bool = False) -> np.ndarray:
    """Which gaps (in character heights) of one line are spaces between words.

    The gaps, each clipped at CLIP heights so that one far outlier (a stray mark at the end
    of a line) cannot claim a group of its own, are split into two groups (least within-group
    variance); the wider group are spaces only when it is clearly apart from the narrow one
    (at least 2.2 times as wide and half a character more). Otherwise the line is one word,
    except for gaps wider than PHRASE character heights. With fewer than three gaps, a gap over
    one character height is a space.

    With `phrases`, the gaps wider than PHRASE split the line into phrases first, and each
    phrase has its spaces decided on its own gaps as a line's are: a form's printed
    label spaces its letters tighter than the handwriting in the boxes beside it ("First
    Name: GUSTAV"), and a line's letters of two sizes likewise. (The line model's readings
    take it: handwritten dev pages 13.4% -> 12.8%; the cuts', which read pages in capitals,
    do not: a word's last letter set apart, "BASTAR D".)
    """
    gaps = np.asarray(gaps, float)
    if phrases and len(gaps) >= 3:
        out = gaps > PHRASE
        ends = [-1, *np.flatnonzero(out), len(gaps)]
        for a, b in zip(ends[:-1], ends[1:]):
            if b > a + 1:
                out[a + 1:b] = word_spaces(gaps[a + 1:b])
        return out
    if len(gaps) < 3:
        return gaps > 1.0
    s = np.sort(np.minimum(gaps, CLIP))
    costs = [np.var(s[:k]) * k + np.var(s[k:]) * (len(s) - k) for k in range(1, len(s))]
    k = int(np.argmin(costs)) + 1
    lo, hi = float(s[:k].mean()), float(s[k:].mean())
    if hi >= max(2.2 * max(lo, 0.15), lo + 0.5):
        return gaps > (s[k - 1] + s[k]) / 2
    return gaps > PHRASE
