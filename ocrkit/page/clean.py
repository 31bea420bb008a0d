"""Stage 2, clean: grey page -> ink map (ink 1 on paper 0) at working resolution.

1. **Lighting**: the paper's brightness is estimated with a grey closing (which removes the
   thin dark strokes) and a blur, and the page divided by it, so shadows, vignetting and
   uneven light become flat paper; ink = 1 - page / paper.
2. **Ink**: hysteresis thresholding from Otsu's level on the ink map keeps faint parts of
   strokes connected to strong ones and drops faint show-through and ruled lines.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, threshold_otsu

WORKING_SIDE = 2000      # pages are analysed at most this many pixels on their longer side


def ink_map(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """Grey page in [0, 1] (dark ink on light paper) -> (ink in [0, 1] at working size, scale).

    `scale` is working pixels per original pixel (<= 1).
    """
    scale = min(1.0, WORKING_SIDE / max(grey.shape))
    if scale < 1.0:
        from skimage.transform import rescale
        grey = rescale(grey, scale, anti_aliasing=True, preserve_range=True).astype(np.float32)
    size = max(15, int(min(grey.shape) / 25)) | 1
    small = grey[::4, ::4]
    paper = ndimage.grey_closing(small, size=(size // 4 + 1, size // 4 + 1))
    paper = ndimage.gaussian_filter(paper, size / 8)
    paper = ndimage.zoom(paper, (grey.shape[0] / small.shape[0], grey.shape[1] / small.shape[1]),
                         order=1)[:grey.shape[0], :grey.shape[1]]
    ink = 1.0 - grey / np.maximum(paper, 1e-3)
    return np.clip(ink, 0.0, 1.0).astype(np.float32), scale


def ink_mask(ink: np.ndarray) -> np.ndarray:
    """Binary ink: hysteresis between half and the full Otsu level of the ink map."""
    if float(ink.max()) < 0.08:
        return np.zeros(ink.shape, bool)
    level = max(float(threshold_otsu(ink)), 0.12)
    return apply_hysteresis_threshold(ink, 0.5 * level, level)
