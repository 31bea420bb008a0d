"""Training-time augmentation of canonical characters, whole batches at once.

    xb = augment(xb, rng)        # (N, 32, 32) -> (N, 32, 32), a new random variant of each

Every sample gets its own small affine map (scale, aspect, rotation, slant, shift), and a
share of the batch an elastic distortion on top (a smooth random displacement field, Simard
et al. 2003), both applied by one vectorised bilinear gather; a random share then gets thicker
strokes and a share pixel noise. Real
handwriting varies in exactly these ways between writers and between datasets (NIST36
characters fill more of the frame than EMNIST's), so a network that has seen them generalises
past the one dataset it was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

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

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.add_noise(self.thicken_strokes(self.affine(x, rng), rng), rng)

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
