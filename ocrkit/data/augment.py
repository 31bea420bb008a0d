"""Training-time augmentation of canonical characters, whole batches at once.

    xb = augment(xb, rng)        # (N, 32, 32) -> (N, 32, 32), a new random variant of each

Every sample gets its own small affine map (scale, aspect, rotation, shear, shift) applied by
one vectorised bilinear gather, and a random share of the batch gets thicker strokes. Real
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
    shear: float = 0.2            # +- horizontal shear (slant)
    shift: float = 2.0            # +- pixels
    thicken: float = 0.3          # share of samples whose strokes get thicker

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.thicken_strokes(self.affine(x, rng), rng)

    def affine(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x: (N, H, W) -> (N, H, W), each sample warped about the image centre."""
        n, h, w = x.shape
        s = rng.uniform(*self.scale, n)
        a = rng.uniform(-self.aspect, self.aspect, n)
        th = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n))
        sh = rng.uniform(-self.shear, self.shear, n)
        t = rng.uniform(-self.shift, self.shift, (n, 2))
        # forward map in (row, col): M = R(th) @ Shear(sh) @ diag(s(1+a), s(1-a));
        # the output pixel p takes its value from M^-1 (p - centre - t) + centre.
        sy, sx = s * (1 + a), s * (1 - a)
        cos, sin = np.cos(th), np.sin(th)
        m = np.empty((n, 2, 2))
        m[:, 0, 0] = cos * sy
        m[:, 0, 1] = -sin * sx + cos * sh * sx
        m[:, 1, 0] = sin * sy
        m[:, 1, 1] = cos * sx + sin * sh * sx
        inv = np.linalg.inv(m).astype(np.float32)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = np.mgrid[:h, :w].astype(np.float32)
        dr = rows.reshape(1, -1) - cy - t[:, :1].astype(np.float32)        # (N, P)
        dc = cols.reshape(1, -1) - cx - t[:, 1:].astype(np.float32)
        r = inv[:, 0, 0, None] * dr + inv[:, 0, 1, None] * dc + cy
        c = inv[:, 1, 0, None] * dr + inv[:, 1, 1, None] * dc + cx
        return _bilinear(x, r, c).reshape(n, h, w).astype(x.dtype, copy=False)

    def thicken_strokes(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pick = np.flatnonzero(rng.random(len(x)) < self.thicken)
        if len(pick):
            grown = ndimage.grey_dilation(x[pick], footprint=np.array(
                [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool))
            strength = rng.uniform(0.3, 1.0, (len(pick), 1, 1)).astype(x.dtype)
            x = x.copy()
            x[pick] = np.maximum(x[pick], grown * strength)
        return x


def _bilinear(x: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
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
