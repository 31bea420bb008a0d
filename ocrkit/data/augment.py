"""Training-time augmentation of canonical characters, whole batches at once.

    xb = augment(xb, rng)        # (N, 32, 32) -> (N, 32, 32), a new random variant of each

Every sample gets its own small affine map (scale, aspect, rotation, slant, shift), and a
share of the batch an elastic distortion on top (a smooth random displacement field, Simard
et al. 2003), both applied by one vectorised bilinear gather; a random share then gets thicker
strokes and a share pixel noise. Real
handwriting varies in exactly these ways between writers and between datasets (NIST36
characters fill more of the frame than EMNIST's), so a network that has seen them generalises
past the one dataset it was trained on.

Two kinds more are off unless asked for (`ocrkit train --crop-noise --styles`), each aimed at
errors on characters cut from real pages (issue 16): `crops`, what a page's crop keeps that
EMNIST's never do (specks, a stub of an underline or ruled line, strokes faded in parts), and
`styles`, writers' forms EMNIST barely holds, drawn onto characters of their class (a bar
through 7 and Z, a bar atop J, a flag and a foot on 1, a spur on G).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Augment:
    scale: tuple = (0.85, 1.25)   # zoom factor range (> 1 enlarges)
    aspect: float = 0.12          # +- relative stretch of width against height
    rotate: float = 10.0          # +- degrees
    shear: float = 0.2            # +- slant: columns shift by shear x rows from the centre
    shift: float = 2.0            # +- pixels
    elastic: float = 0.3          # share of samples distorted elastically
    elastic_px: float = 1.0       # typical displacement of the elastic field, in pixels
    elastic_sigma: float = 4.0    # its smoothness (Gaussian sigma, pixels)
    thicken: float = 0.3          # share of samples whose strokes get thicker
    noise: float = 0.2            # share of samples with added pixel noise
    noise_std: float = 0.08
    crops: float = 0.0            # share with a page crop's leftovers (specks, stubs, fading)
    styles: float = 0.0           # share of the STYLES classes drawn in a writer's style
    classes: tuple = ()           # the labels' class names (for `styles`)

    takes_labels: ClassVar[bool] = True     # the Trainer passes each batch's labels

    def __call__(self, x: np.ndarray, rng: np.random.Generator, labels=None) -> np.ndarray:
        if self.styles and labels is not None:
            x = self.draw_styles(x, np.asarray(labels), rng)
        x = self.add_noise(self.thicken_strokes(self.affine(x, rng), rng), rng)
        return self.crop_leftovers(x, rng) if self.crops else x

    def affine(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x: (N, H, W) -> (N, H, W), each sample warped about the image centre."""
        n, h, w = x.shape
        s = rng.uniform(*self.scale, n)
        a = rng.uniform(-self.aspect, self.aspect, n)
        th = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n))
        sh = rng.uniform(-self.shear, self.shear, n)
        t = rng.uniform(-self.shift, self.shift, (n, 2))
        r, c = warp_coordinates(x.shape, s, a, th, sh, t)
        pick = np.flatnonzero(rng.random(n) < self.elastic)
        if len(pick):
            field = self.elastic_field(len(pick), h, w, rng)
            r[pick] += field[:, 0].reshape(len(pick), -1)
            c[pick] += field[:, 1].reshape(len(pick), -1)
        return bilinear(x, r, c).reshape(n, h, w).astype(x.dtype, copy=False)

    def elastic_field(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 2, h, w) smooth random displacements (rows, cols) of rms `elastic_px` pixels."""
        field = ndimage.gaussian_filter(rng.uniform(-1, 1, (n, 2, h, w)).astype(np.float32),
                                        sigma=(0, 0, self.elastic_sigma, self.elastic_sigma))
        rms = np.sqrt(np.mean(field ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-12
        return field * (self.elastic_px / rms)

    def add_noise(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pick = np.flatnonzero(rng.random(len(x)) < self.noise)
        if len(pick):
            x = x.copy()
            noisy = x[pick] + rng.normal(0, self.noise_std, x[pick].shape).astype(x.dtype)
            x[pick] = np.clip(noisy, 0, 1)
        return x

    def thicken_strokes(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pick = np.flatnonzero(rng.random(len(x)) < self.thicken)
        if len(pick):
            grown = ndimage.grey_dilation(x[pick], footprint=np.array(
                [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool))
            strength = rng.uniform(0.3, 1.0, (len(pick), 1, 1)).astype(x.dtype)
            x = x.copy()
            x[pick] = np.maximum(x[pick], grown * strength)
        return x

    def draw_styles(self, x: np.ndarray, labels: np.ndarray, rng) -> np.ndarray:
        """A `styles` share of the samples of the STYLES classes with that style's strokes
        drawn on, placed by each character's ink (box, and the stem's column where the stroke
        meets it), as wide and as dark as its own strokes."""
        index = {c: i for i, c in enumerate(self.classes)}
        out = None
        for name, style in STYLES.items():
            if name not in index:
                continue
            pick = np.flatnonzero((labels == index[name]) & (rng.random(len(x)) < self.styles))
            if not len(pick):
                continue
            sub = np.asarray(x[pick], np.float32)
            box, has = ink_boxes(sub, 0.5)
            pick, sub, box = pick[has], sub[has], box[has]
            if not len(pick):
                continue
            segments = style(sub, box.astype(np.float32), rng)          # [(p0, p1), ...]
            level = sub.max(axis=(1, 2)) * rng.uniform(0.8, 1.0, len(pick)).astype(np.float32)
            width = rng.uniform(2.4, 3.4, len(pick)).astype(np.float32)
            drawn = sub
            for p0, p1 in segments:
                drawn_on = (np.abs(p1 - p0).sum(1) > 0)[:, None, None]   # a stroke left out: none
                drawn = np.maximum(drawn, stroke(sub.shape, p0, p1, width)
                                   * (level[:, None, None] * drawn_on))
            out = np.array(x, copy=True) if out is None else out
            out[pick] = drawn.astype(x.dtype, copy=False)
        return x if out is None else out

    def crop_leftovers(self, x: np.ndarray, rng) -> np.ndarray:
        """A `crops` share of the samples with one of what a real page's crop keeps: a speck
        or two beside the character, a stub of an underline or ruled line under it (clear of
        it: across a stroke a bar would make 1 a T), or its strokes faded by a smooth random
        field (to a quarter in places)."""
        n, h, w = x.shape
        pick = np.flatnonzero(rng.random(n) < self.crops)
        if not len(pick):
            return x
        sub = np.asarray(x[pick], np.float32)
        k = len(pick)
        kind = rng.integers(0, 3, k)
        box = ink_boxes(sub, 0.5)[0].astype(np.float32)
        kind[(kind == 1) & (box[:, 1] + 1.5 > h - 2)] = 2    # no room for a stub clear of it
        out = sub.copy()
        speck = np.flatnonzero(kind == 0)
        if len(speck):              # a dot of 1-2.5 px anywhere in the frame, 1 or 2 of them
            for second in (False, True):
                centre = rng.uniform(2, h - 3, (len(speck), 2)).astype(np.float32)
                size = rng.uniform(1.0, 2.5, len(speck)).astype(np.float32)
                dot = stroke(sub[speck].shape, centre, centre, size)
                if second:
                    dot *= (rng.random(len(speck)) < 0.5)[:, None, None]
                out[speck] = np.maximum(out[speck], dot)
        stub = np.flatnonzero(kind == 1)
        if len(stub):               # a level line under the ink, clear of it, part width
            r0, r1, c0, c1 = box[stub].T
            row = np.clip(r1 + rng.uniform(1.5, 3.5, len(stub)), 1, h - 2)
            a = rng.uniform(0, w / 2, len(stub)) * (rng.random(len(stub)) < 0.5)
            b = rng.uniform(w / 2, w, len(stub))
            tilt = rng.uniform(-1, 1, len(stub))
            line = stroke(sub[stub].shape, np.stack([row, a], 1), np.stack([row + tilt, b], 1),
                          rng.uniform(1.5, 3.0, len(stub)).astype(np.float32))
            out[stub] = np.maximum(out[stub], line * rng.uniform(0.6, 1, (len(stub), 1, 1)))
        fade = np.flatnonzero(kind == 2)
        if len(fade):               # ink times a smooth field of 0.25-1
            field = ndimage.gaussian_filter(rng.random((len(fade), h, w), dtype=np.float32),
                                            sigma=(0, 3, 3))
            lo, hi = field.min(axis=(1, 2), keepdims=True), field.max(axis=(1, 2), keepdims=True)
            out[fade] *= 0.25 + 0.75 * (field - lo) / np.maximum(hi - lo, 1e-6)
        x = np.array(x, copy=True)
        x[pick] = np.clip(out, 0, 1).astype(x.dtype, copy=False)
        return x


def stroke(shape, p0: np.ndarray, p1: np.ndarray, width: np.ndarray) -> np.ndarray:
    """(N, H, W) images of one straight pen stroke each, from p0 to p1 ((N, 2) rows, columns)
    and `width` (N,) pixels wide, with a pixel of soft edge."""
    n, h, w = shape
    rows, cols = np.mgrid[:h, :w].astype(np.float32)
    pr, pc = rows.reshape(1, -1) - p0[:, :1], cols.reshape(1, -1) - p0[:, 1:]
    d = (p1 - p0).astype(np.float32)
    length2 = np.maximum((d ** 2).sum(1, keepdims=True), 1e-6)
    t = np.clip((pr * d[:, :1] + pc * d[:, 1:]) / length2, 0, 1)
    dist = np.hypot(pr - t * d[:, :1], pc - t * d[:, 1:])
    return np.clip(width[:, None] / 2 + 0.5 - dist, 0, 1).reshape(n, h, w)


def _column_at(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The ink-weighted mean column of each image's row `rows` (N,) (±1 row), i.e. where a
    stroke crosses it; the image's middle column where the row is blank."""
    n, h, w = x.shape
    r = np.clip(np.round(rows).astype(int), 1, h - 2)
    band = x[np.arange(n)[:, None], r[:, None] + np.arange(-1, 2)].sum(1)      # (N, W)
    mass = band.sum(1)
    return np.where(mass > 0, (band * np.arange(w)).sum(1) / np.maximum(mass, 1e-6),
                    (w - 1) / 2).astype(np.float32)


def _crossbar(at: tuple, half: tuple):
    """A style: a level-ish bar across the character at a share `at` of its height (a random
    one in the range), `half` of the box width either side of the stroke it crosses."""
    def style(x, box, rng):
        r0, r1, c0, c1 = box.T
        k = len(x)
        row = r0 + (r1 - r0) * rng.uniform(*at, k)
        col = _column_at(x, row)
        reach = np.maximum(c1 - c0, 0.5 * (r1 - r0)) * rng.uniform(*half, k)
        tilt = reach * rng.uniform(-0.15, 0.15, k)
        return [(np.stack([row + tilt, col - reach], 1), np.stack([row - tilt, col + reach], 1))]
    return style


def _one_flag_foot(x, box, rng):
    """1 as many write it: a flag down-left from the top of the stem (on 80%), a foot across
    its bottom (on 60%; both on 40%)."""
    r0, r1, c0, c1 = box.T
    k, h = len(x), r1 - r0
    top, bottom = _column_at(x, r0 + 1), _column_at(x, r1 - 2)
    which = rng.random(k)
    flag_len = h * rng.uniform(0.2, 0.35, k) * (which < 0.8)
    foot = h * rng.uniform(0.15, 0.25, k) * (which >= 0.4)
    return [(np.stack([r0 + 1, top], 1), np.stack([r0 + 1 + 0.8 * flag_len, top - flag_len], 1)),
            (np.stack([r1 - 1.5, bottom - foot], 1), np.stack([r1 - 1.5, bottom + foot], 1))]


def _g_spur(x, box, rng):
    """G with a spur: a short stem down from its bar on the right side to the bottom."""
    r0, r1, c0, c1 = box.T
    k, h = len(x), r1 - r0
    col = c1 - rng.uniform(1.0, 2.5, k)
    return [(np.stack([r0 + h * rng.uniform(0.45, 0.6, k), col], 1),
             np.stack([r1 - 1 + h * rng.uniform(0, 0.2, k), col], 1))]


# the writer styles Augment.styles draws, by class (issue 16: with the twins, the most common
# errors on photographed pen characters: G with a spur, J with a bar, 1 with a flag and foot,
# crossed 7 and Z)
STYLES = {"7": _crossbar((0.45, 0.6), (0.25, 0.4)), "Z": _crossbar((0.45, 0.55), (0.3, 0.45)),
          "J": _crossbar((0.0, 0.05), (0.35, 0.6)), "1": _one_flag_foot, "G": _g_spur}


def warp_coordinates(shape, s, a, th, sh, t) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of (N, H, W) images takes its value from, (N, H*W) rows and
    columns, for per-sample scale s, aspect a, rotation th (radians), slant sh and shift t
    (N, 2) (arrays of N, or scalars for one map for every sample)."""
    n, h, w = shape
    s, a, th, sh = (np.broadcast_to(np.asarray(v, np.float64), (n,)) for v in (s, a, th, sh))
    t = np.broadcast_to(np.asarray(t, np.float64), (n, 2))
    # forward map in (row, col): M = R(th) @ [[1, 0], [sh, 1]] @ diag(s(1+a), s(1-a)),
    # the middle factor a slant (the column moves by sh x row); the output pixel p takes
    # its value from M^-1 (p - centre - t) + centre.
    sy, sx = s * (1 + a), s * (1 - a)
    cos, sin = np.cos(th), np.sin(th)
    m = np.empty((n, 2, 2))
    m[:, 0, 0] = (cos - sin * sh) * sy
    m[:, 0, 1] = -sin * sx
    m[:, 1, 0] = (sin + cos * sh) * sy
    m[:, 1, 1] = cos * sx
    inv = np.linalg.inv(m).astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    rows, cols = np.mgrid[:h, :w].astype(np.float32)
    dr = rows.reshape(1, -1) - cy - t[:, :1].astype(np.float32)        # (N, P)
    dc = cols.reshape(1, -1) - cx - t[:, 1:].astype(np.float32)
    r = inv[:, 0, 0, None] * dr + inv[:, 0, 1, None] * dc + cy
    c = inv[:, 1, 0, None] * dr + inv[:, 1, 1, None] * dc + cx
    return r, c


def bilinear(x: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Sample x (N, H, W) at float coordinates r, c (N, P); zero outside the image."""
    n, h, w = x.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = x
    r = np.clip(r + 1, 0, h + 0.999)
    c = np.clip(c + 1, 0, w + 0.999)
    r0, c0 = r.astype(np.intp), c.astype(np.intp)           # floor: both are >= 0
    fr, fc = r - r0, c - c0
    stride = w + 2
    base = r0 * stride + c0 + (np.arange(n) * padded[0].size)[:, None]
    flat = padded.ravel()
    top = flat[base] * (1 - fc) + flat[base + 1] * fc
    bottom = flat[base + stride] * (1 - fc) + flat[base + stride + 1] * fc
    return top * (1 - fr) + bottom * fr


@dataclass(frozen=True)
class SaltAndPepper:
    """Corruption for a denoising autoencoder: each pixel, with probability `p`, becomes 0 or 1
    (equally likely). x: (N, H, W) -> a corrupted copy; x itself is not changed."""
    p: float

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(x.shape, dtype=np.float32)
        hit = u < self.p
        out = np.array(x, copy=True)
        out[hit] = (u[hit] < self.p / 2).astype(out.dtype)
        return out

    def validation(self, x: np.ndarray, seed: int) -> np.ndarray:
        """The fixed corruption of a denoising run's validation inputs: the same for every
        epoch and for the scores reported after training, given the run's seed."""
        return self(x, np.random.default_rng(seed))


def ink_boxes(x: np.ndarray, level: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The ink boxes of images x (N, H, W): ((N, 4) ints r0, r1, c0, c1, ends exclusive, of
    the rows and columns holding a pixel above `level`; (N,) bool which images hold any). A
    blank image's box is the whole frame."""
    n, h, w = x.shape
    ink = x > level
    rows, cols = ink.any(2), ink.any(1)
    has = rows.any(1)
    box = np.stack([rows.argmax(1), h - rows[:, ::-1].argmax(1),
                    cols.argmax(1), w - cols[:, ::-1].argmax(1)], 1)
    box[~has] = (0, h, 0, w)
    return box, has


@dataclass(frozen=True)
class Reframe:
    """EMNIST characters in the framing of NIST36's (the HW5 .mat files): larger in the frame
    and with harder strokes. A random `share` of the batch is scaled about its ink box so that
    the box's longer side becomes a random `extent` (never beyond the frame), centred with a
    small random shift, and given more contrast about 0.5 (clipped to [0, 1]); the rest of the
    batch is unchanged. EMNIST's characters span 20-24 pixels of the 32 (10th-90th percentile
    of the longer side) with soft grey edges; nist26_valid's span 21-30, a fifth of their ink
    pixels at full strength against EMNIST's twentieth."""
    share: float = 0.5
    extent: tuple = (22.0, 30.0)  # the ink box's longer side after, in pixels
    aspect: float = 0.1           # +- relative stretch of width against height
    shift: float = 1.0            # +- pixels of the box centre from the frame centre
    contrast: tuple = (1.0, 2.5)  # gain about 0.5

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, h, w = x.shape
        pick = np.flatnonzero(rng.random(n) < self.share)
        if not len(pick):
            return x
        sub = np.asarray(x[pick], np.float32)
        box, has = ink_boxes(sub, 0.25)
        r0, r1, c0, c1 = box.T
        bh, bw = (r1 - r0).astype(np.float64), (c1 - c0).astype(np.float64)
        k = len(pick)
        s = rng.uniform(*self.extent, k) / np.maximum(bh, bw)
        a = rng.uniform(-self.aspect, self.aspect, k)
        sy = np.minimum(s * (1 + a), (h - 1) / bh)          # the box stays inside the frame
        sx = np.minimum(s * (1 - a), (w - 1) / bw)
        t = rng.uniform(-self.shift, self.shift, (k, 2))
        # warp_coordinates scales about the frame's centre; moved to the box's centre
        r, c = warp_coordinates(sub.shape, (sy + sx) / 2, (sy - sx) / (sy + sx), 0.0, 0.0, t)
        r = r + ((r0 + r1 - 1) / 2 - (h - 1) / 2)[:, None].astype(np.float32)
        c = c + ((c0 + c1 - 1) / 2 - (w - 1) / 2)[:, None].astype(np.float32)
        out = bilinear(sub, r, c).reshape(k, h, w)
        gain = rng.uniform(*self.contrast, (k, 1, 1)).astype(np.float32)
        out = np.clip((out - 0.5) * gain + 0.5, 0, 1)
        out[~has] = sub[~has]
        x = np.array(x, copy=True)
        x[pick] = out.astype(x.dtype, copy=False)
        return x


@dataclass(frozen=True)
class Paired:
    """An autoencoder's training batch when its images themselves are varied: `transform` of
    the batch is the target, and `corrupt` of that (if any) the input. -> (inputs, targets),
    which the Trainer takes in place of the batch and its targets."""
    transform: object
    corrupt: object = None

    def __call__(self, x: np.ndarray, rng: np.random.Generator):
        target = self.transform(x, rng)
        return (target if self.corrupt is None else self.corrupt(target, rng)), target
