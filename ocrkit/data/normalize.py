"""The one character normaliser: any crop of a character -> canonical 32x32.

Used for folder datasets and, later, for every crop the OCR pipeline finds, so what the network
sees matches what it was trained on. The targets were measured on EMNIST (padded to 32x32):
the longer side of the ink spans about 22 pixels, strokes are about 3.2 pixels wide and the
character is centred by its bounding box.

Steps: grey -> ink (dark ink on light paper becomes ink 1 on 0) -> contrast stretch between the
paper and ink levels -> drop specks -> crop to the ink -> stroke-width normalisation -> pad to a
square -> resize so the longer side is 22 px -> centre in 32x32.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.morphology import disk, skeletonize

from ocrkit.data.dataset import SIZE

BOX = 22            # longer side of the ink in canonical pixels
STROKE = 3.2        # stroke width in canonical pixels
SPECK = 0.02        # components under this fraction of the largest one's area are dropped
BLOB = 4.0          # "strokes" this many times the canonical width are a filled blob
REDUCE = 64         # crops with a longer ink side than this are reduced to it first


def to_grey(image: np.ndarray) -> np.ndarray:
    """Any image array (uint8/uint16/float; grey, RGB or RGBA) -> float grey in [0, 1]."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    elif image.dtype == bool:
        image = image.astype(np.float32)
    else:
        image = image.astype(np.float32)
        if image.max(initial=0) > 1.0:
            image = image / 255.0
    if image.ndim == 3:
        if image.shape[2] == 4:         # RGBA: composite on white paper
            alpha = image[..., 3:4]
            image = image[..., :3] * alpha + (1 - alpha)
        if image.shape[2] == 2:         # grey + alpha
            image = image[..., :1] * image[..., 1:] + (1 - image[..., 1:])
            image = image[..., 0]
        else:
            image = rgb2gray(image[..., :3])
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {image.shape}")
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def otsu(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold of values in [0, 1] (the level that best splits them into two
    classes), from a histogram of `bins` bins."""
    hist = np.bincount(np.minimum((values.ravel() * bins).astype(np.int64), bins - 1),
                       minlength=bins).astype(np.float64)
    centres = (np.arange(bins) + 0.5) / bins
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = m0 / np.maximum(w0, 1e-12)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1e-12)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float((np.argmax(between[:-1]) + 1) / bins)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: ink area / skeleton length."""
    length = skeletonize(mask).sum()
    return float(mask.sum() / length) if length else 0.0


def normalise_character(image: np.ndarray, ink_on_dark: bool = False) -> np.ndarray:
    """One character image of any size (dark ink on light paper) -> float32 (32, 32) canonical.

    With `ink_on_dark`, the image already has light ink on a dark background. A blank image
    gives all zeros.
    """
    ink = to_grey(image)
    if not ink_on_dark:
        ink = 1.0 - ink
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    if ink.size == 0 or float(ink.max() - ink.min()) < 0.05:
        return out
    mask = ink > otsu(ink)
    paper = float(np.median(ink[~mask])) if (~mask).any() else 0.0
    inked = ink[mask]
    k = int(0.9 * (len(inked) - 1))
    level = float(np.partition(inked, k)[k])                  # the 90th percentile
    ink = np.clip((ink - paper) / max(level - paper, 1e-3), 0.0, 1.0)

    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n > 1:
        areas = np.bincount(labels.ravel())[1:]
        keep = np.flatnonzero(areas >= SPECK * areas.max()) + 1
        mask = np.isin(labels, keep)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    near = ndimage.maximum_filter(mask.view(np.uint8), 3)     # the mask grown by a pixel
    ink = ink[r0:r1, c0:c1] * near[r0:r1, c0:c1]
    mask = mask[r0:r1, c0:c1]

    if max(mask.shape) > REDUCE:
        # a large crop (a close-up, a big page) is first reduced by averaging, so the stroke
        # measure and the dilation below cost the same for any crop size
        factor = REDUCE / max(mask.shape)
        size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
        ink = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F")
                         .resize(size, Image.BOX), dtype=np.float32)
        top = float(ink.max())
        if top <= 0:
            return out
        ink = np.clip(ink / top, 0.0, 1.0)
        mask = ink > 0.3
    long_side = max(mask.shape)
    scale = BOX / long_side
    width = stroke_width(mask) * scale          # in canonical pixels
    if width > BLOB * STROKE:
        return out          # a filled blob, not pen strokes: eroding it to strokes leaves none
    if width > 0:
        radius = int(round((STROKE - width) / 2 / scale))   # in crop pixels
        if radius > 0:
            ink = ndimage.grey_dilation(ink, footprint=disk(radius))
        elif radius < 0 and width > 1.6 * STROKE:
            ink = ndimage.grey_erosion(ink, footprint=disk(-radius))

    h, w = ink.shape
    side = max(h, w) + 2 * int(np.ceil(abs(STROKE / scale)))
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = ink
    target = int(round(side * scale))
    small = np.asarray(Image.fromarray(square, mode="F").resize((target, target),
                                                                Image.BILINEAR), np.float32)
    # crop or pad `small` into the 32x32 frame around its centre
    off = (SIZE - target) // 2
    src0, dst0 = max(-off, 0), max(off, 0)
    n_copy = min(target - src0, SIZE - dst0)
    out[dst0:dst0 + n_copy, dst0:dst0 + n_copy] = small[src0:src0 + n_copy, src0:src0 + n_copy]
    peak = out.max()
    if peak > 0:
        out /= peak
    return out
