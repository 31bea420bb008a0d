"""Generated "not one character" crops: the training data of the reject class (REJECT, "~").

    rejects = make_rejects(train, 8000, seed=1)        # float32 (8000, 32, 32), canonical
    train = with_rejects(train, share=0.08, seed=1)    # train + rejects, one more class

The page pipeline cuts touching characters and joins broken ones by recognition: it proposes
several segmentations of a line and keeps the one whose crops the model reads with the highest
joint probability, so the model must be able to say "this crop is not one character". The
rejects are made from real characters of the dataset they are mixed into (so a training split's
rejects never contain a validation or test character), composed as ink at EMNIST's common
scale, and then passed through `normalise_character`, exactly as a page crop is:

- **pairs** (38%) and **triples** (12%): characters side by side, overlapping by up to a
  quarter of the narrower one's width, touching, or with a gap of up to 3 px (EMNIST scale),
  each shrunk by up to 20% and shifted up or down by up to 3 px;
- **parts** (12%, kept modest: parts of some characters are characters): the left or right
  part of a wide character, cut at 40-60% of its ink width, at a column drawn with
  probability rising with the number of strokes it crosses (through the bars of E or the
  bowl of e, not along a stem, whose removal leaves a whole bowl: d -> o). A slice of m is
  an n and of W a V, and a narrow character's part is a stroke like l or 1, so only
  characters whose ink is at least 0.6 times as wide as it is tall are cut, never m, M, w, W;
- **slivers** (16%): a whole character with 10-25% of its neighbour's width beside it;
- **rules** (14%): rule-line pieces (long, thin, skewed up to 8 degrees, slightly curved),
  corners of printed boxes (three of the four: the lower-left one is an L) and boxes or
  three-sided box pieces wider than tall; never a lone vertical stroke, which is an l, I or 1;
- **blobs** (8%): one to four filled blobs and specks. (A solid blob comes out of the
  normaliser blank, its stroke-width erosion eating it, as on a page; about 40% of these.)

Real characters go through the same normaliser (`with_rejects` passes as many real training
characters through it as it adds rejects), so "went through normalise_character" is never
what tells the classes apart.
"""
from __future__ import annotations

import numpy as np

from ocrkit.data.augment import bilinear
from ocrkit.data.dataset import REJECT, Dataset

KINDS = {"pair": 0.38, "triple": 0.12, "part": 0.12, "sliver": 0.16, "rule": 0.14,
         "blob": 0.08}
PART_CUT = (0.40, 0.60)         # where a part is cut, as a share of the ink width
PART_MIN_ASPECT = 0.6           # only characters at least this wide (ink width / height)
PART_NEVER = set("mMwW")        # their parts are characters (n, V, v)
SLIVER = (0.10, 0.25)           # the neighbour's share of width a sliver keeps
INK = 0.3                       # a pixel is ink above this (for the ink extents)
_CANVAS_H = 40                  # composites are drawn on a 40-pixel-high canvas


def make_rejects(ds: Dataset, n: int, seed: int = 0, kinds: dict | None = None) -> np.ndarray:
    """n canonical (32x32 float32, [0, 1], ink 1 on 0) reject crops made from ds's characters,
    of the kinds in `kinds` (name -> share; default KINDS) in a random order (the same ds, n
    and seed give the same crops)."""
    from ocrkit.data.normalize import normalise_character
    rng = np.random.default_rng(seed)
    if n <= 0:
        return np.zeros((0, 32, 32), np.float32)
    if len(ds) == 0:
        raise ValueError("no characters to make rejects from")
    kinds = KINDS if kinds is None else kinds
    names = list(kinds)
    kind = rng.choice(len(names), n, p=np.array(list(kinds.values())) / sum(kinds.values()))
    out = np.zeros((n, 32, 32), np.float32)
    chars = np.asarray(ds.x, np.float32)
    for k, name in enumerate(names):
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        canvases = _MAKERS[name](chars, ds, len(idx), rng)
        out[idx] = np.stack([normalise_character(c, ink_on_dark=True) for c in canvases])
    return out


#: The seed of each split's rejects: fixed, so `ocrkit evaluate --reject` scores the very test
#: rejects a training run held out.
SPLIT_SEEDS = {"train": 1, "valid": 2, "test": 3, "all": 4}


def split_with_rejects(ds: Dataset, share: float, split: str) -> Dataset:
    """`with_rejects` as training and scoring use it: each split's rejects come from its own
    characters with its own fixed seed; only the training split's real characters are (in
    part) passed through the normaliser, so valid/test keep their characters as they are."""
    return with_rejects(ds, share, SPLIT_SEEDS[split], normalise_real=split == "train")


def with_rejects(ds: Dataset, share: float, seed: int = 0, normalise_real: bool = True
                 ) -> Dataset:
    """ds with generated rejects added as the last class, REJECT, making up `share` of the
    result; with `normalise_real`, as many of ds's characters (drawn at random) are replaced
    by their own pass through normalise_character."""
    from ocrkit.data.normalize import normalise_character
    if not 0 < share < 1:
        raise ValueError(f"reject share {share} is not between 0 and 1")
    if REJECT in ds.classes:
        raise ValueError(f"{ds.name or 'the dataset'} already has the reject class {REJECT}")
    n = int(round(len(ds) * share / (1 - share)))
    rejects = make_rejects(ds, n, seed)
    x = np.array(ds.x, np.float32, copy=True)
    if normalise_real and n:
        pick = np.random.default_rng(seed + 1).choice(len(ds), min(n, len(ds)), replace=False)
        x[pick] = np.stack([normalise_character(c, ink_on_dark=True) for c in x[pick]])
    classes = tuple(ds.classes) + (REJECT,)
    info = {**ds.info, "rejects": n, "reject_share": share}
    return Dataset(np.concatenate([x, rejects]),
                   np.concatenate([ds.y, np.full(n, len(ds.classes))]), classes, ds.name, info)


# -- composing characters -----------------------------------------------------------------------
def _ink_cols(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last ink column of each image (N, H, W)."""
    cols = (x > INK).any(axis=1)
    has = cols.any(axis=1)
    first = np.where(has, np.argmax(cols, axis=1), 0)
    last = np.where(has, x.shape[2] - np.argmax(cols[:, ::-1], axis=1), x.shape[2])
    return first, last


def _shrink(x: np.ndarray, rng, low: float = 0.8) -> np.ndarray:
    """Each image scaled about its centre by its own factor in [low, 1]."""
    n, h, w = x.shape
    s = rng.uniform(low, 1.0, (n, 1)).astype(np.float32)
    rows, cols = np.mgrid[:h, :w].astype(np.float32)
    r = (rows.reshape(1, -1) - (h - 1) / 2) / s + (h - 1) / 2
    c = (cols.reshape(1, -1) - (w - 1) / 2) / s + (w - 1) / 2
    return bilinear(x, r, c).reshape(n, h, w)


def _place(pieces: list[np.ndarray], gaps: list[np.ndarray], rng) -> np.ndarray:
    """Draw pieces (each (N, H, W)) left to right on one canvas per sample: each piece's ink
    starts `gap` pixels after the previous one's ink ends (negative: overlap), shifted up or
    down by up to 3 px; overlapping ink takes the maximum."""
    n, h, w = pieces[0].shape
    width = w * len(pieces) + 16
    canvas = np.zeros((n, _CANVAS_H, width), np.float32)
    rows = np.arange(h)
    cols = np.arange(w)
    ink_end = np.full(n, 8)
    for k, piece in enumerate(pieces):
        first, last = _ink_cols(piece)
        left = ink_end - first if k == 0 else ink_end + np.round(gaps[k - 1]).astype(int) - first
        left = np.clip(left, 0, width - w)
        top = (_CANVAS_H - h) // 2 + rng.integers(-3, 4, n)
        r = top[:, None, None] + rows[None, :, None]
        c = left[:, None, None] + cols[None, None, :]
        i = np.arange(n)[:, None, None]
        canvas[i, r, c] = np.maximum(canvas[i, r, c], piece)
        ink_end = np.maximum(ink_end, left + last)
    return canvas


def _draw(chars, n, rng, count=1):
    return [_shrink(chars[rng.integers(0, len(chars), n)], rng) for _ in range(count)]


def _gaps(pieces, rng):
    """Per sample gap before each following piece: -1/4 of the narrower ink width to +3 px."""
    gaps = []
    for a, b in zip(pieces, pieces[1:]):
        fa, la = _ink_cols(a)
        fb, lb = _ink_cols(b)
        narrow = np.minimum(la - fa, lb - fb)
        gaps.append(rng.uniform(-0.25, 0, len(a)) * narrow * (rng.random(len(a)) < 0.6)
                    + rng.uniform(0, 3, len(a)) * (rng.random(len(a)) < 0.3))
    return gaps


def _pairs(chars, ds, n, rng):
    pieces = _draw(chars, n, rng, 2)
    return _place(pieces, _gaps(pieces, rng), rng)


def _triples(chars, ds, n, rng):
    pieces = _draw(chars, n, rng, 3)
    return _place(pieces, _gaps(pieces, rng), rng)


def _cuttable(chars, ds) -> np.ndarray:
    """Indices of the characters a part may be cut from (wide enough, not m/M/w/W)."""
    first, last = _ink_cols(chars)
    rows = (chars > INK).any(axis=2)
    height = rows.shape[1] - np.argmax(rows[:, ::-1], axis=1) - np.argmax(rows, axis=1)
    never = np.isin(np.array(ds.classes)[ds.y], list(PART_NEVER))
    ok = np.flatnonzero(((last - first) >= PART_MIN_ASPECT * height) & ~never)
    return ok if len(ok) else np.arange(len(chars))


def _cut_columns(x, lo, hi, rng):
    """Per image a cut column in [first + lo*w, first + hi*w), drawn with probability
    proportional to the square of the number of strokes the column crosses (its ink runs):
    a cut through the middle of strokes (the bars of E, the bowls of B or e) leaves two
    broken pieces, where a cut along a stem would leave a whole bowl (d -> o)."""
    first, last = _ink_cols(x)
    w = last - first
    cols = np.arange(x.shape[2])
    inside = (cols >= (first + lo * w)[:, None]) & (cols < (first + hi * w)[:, None])
    ink = x > INK
    runs = np.count_nonzero(ink[:, 1:] & ~ink[:, :-1], axis=1) + ink[:, 0]
    weight = np.where(inside, runs.astype(np.float64) ** 2 + 1e-3, 0.0)
    u = rng.random(len(x))[:, None] * weight.sum(axis=1, keepdims=True)
    return np.argmax(np.cumsum(weight, axis=1) > u, axis=1)


def _parts(chars, ds, n, rng):
    pool = _cuttable(chars, ds)
    x = _shrink(chars[pool[rng.integers(0, len(pool), n)]], rng)
    cut = _cut_columns(x, *PART_CUT, rng)
    keep_left = rng.random(n) < 0.5
    cols = np.arange(x.shape[2])[None, None, :]
    x = x * np.where(keep_left[:, None, None], cols < cut[:, None, None],
                     cols >= cut[:, None, None])
    return _place([x], [], rng)


def _slivers(chars, ds, n, rng):
    whole, other = _draw(chars, n, rng, 2)
    first, last = _ink_cols(other)
    keep = np.round(rng.uniform(*SLIVER, n) * (last - first)).astype(int)
    cols = np.arange(other.shape[2])[None, None, :]
    left_of = rng.random(n) < 0.5               # the sliver on the left: the neighbour's end
    mask = np.where(left_of[:, None, None], cols >= (last - keep)[:, None, None],
                    cols < (first + keep)[:, None, None])
    sliver, side = other * mask, left_of[:, None, None]
    return _place([np.where(side, sliver, whole), np.where(side, whole, sliver)],
                  [rng.uniform(-1, 2, n)], rng)


# -- strokes and blobs, drawn as distance fields -------------------------------------------------
def _rules(chars, ds, n, rng):
    """Rule-line pieces (half), box corners (a quarter) and boxes (a quarter), on 48x64."""
    h, w = 48, 64
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    half = rng.uniform(0.6, 1.6, (n, 1, 1)).astype(np.float32)      # stroke half-width
    kind = rng.choice(3, n, p=[0.5, 0.25, 0.25])
    # a rule piece: y = y0 + slope (x - xc) + bend (x - xc)^2 over [x0, x1]
    xc = w / 2
    slope = np.tan(np.deg2rad(rng.uniform(-8, 8, (n, 1, 1)))).astype(np.float32)
    bend = rng.uniform(-1, 1, (n, 1, 1)).astype(np.float32) * 2.0 / (w / 2) ** 2
    length = rng.uniform(18, 60, (n, 1, 1)).astype(np.float32)
    y_line = h / 2 + slope * (xx - xc) + bend * (xx - xc) ** 2
    dist = np.abs(yy - y_line) + np.maximum(np.abs(xx - xc) - length / 2, 0)
    rule = np.clip(half + 0.5 - dist, 0, 1)
    # boxes: the outline of a rectangle of width bw and height bh, minus some of its sides
    bw = rng.uniform(24, 56, (n, 1, 1)).astype(np.float32)
    bh = np.minimum(bw / rng.uniform(1.2, 2.5, (n, 1, 1)), h - 6).astype(np.float32)
    dx, dy = np.abs(xx - w / 2) - bw / 2, np.abs(yy - h / 2) - bh / 2
    inside_x, inside_y = dx <= 0, dy <= 0
    top = inside_x & (np.abs(yy - (h / 2 - bh / 2)) <= half + 0.5)
    bottom = inside_x & (np.abs(yy - (h / 2 + bh / 2)) <= half + 0.5)
    left = inside_y & (np.abs(xx - (w / 2 - bw / 2)) <= half + 0.5)
    right = inside_y & (np.abs(xx - (w / 2 + bw / 2)) <= half + 0.5)
    # a box (all sides), or one missing its top or bottom (a cell's piece)
    missing = rng.choice(3, n)[:, None, None]
    box = left | right | (top & (missing != 1)) | (bottom & (missing != 2))
    # a corner: the top-left, top-right or bottom-right one of a box (bottom-left is an L)
    corner_kind = rng.choice(3, n)[:, None, None]
    corner = np.where(corner_kind == 0, top & (xx < w / 2) | left & (yy < h / 2),
                      np.where(corner_kind == 1, top & (xx >= w / 2) | right & (yy < h / 2),
                               bottom & (xx >= w / 2) | right & (yy >= h / 2)))
    k = kind[:, None, None]
    return np.where(k == 0, rule, np.where(k == 1, corner, box)).astype(np.float32)


def _blobs(chars, ds, n, rng):
    """One to four filled ellipses of random sizes (specks and blots), on 40x40."""
    h = w = 40
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    out = np.zeros((n, h, w), np.float32)
    count = rng.integers(1, 5, n)
    for j in range(4):
        cy = rng.uniform(8, h - 8, (n, 1, 1))
        cx = rng.uniform(8, w - 8, (n, 1, 1))
        ry = rng.uniform(2, 12, (n, 1, 1)) / (1 + j)
        rx = ry * rng.uniform(0.6, 1.6, (n, 1, 1))
        blob = np.clip(1.5 - np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) * 1.5,
                       0, 1)
        out = np.maximum(out, blob * (j < count)[:, None, None])
    return out


_MAKERS = {"pair": _pairs, "triple": _triples, "part": _parts, "sliver": _slivers,
           "rule": _rules, "blob": _blobs}
