"""A folder with one sub-folder per class, named by its character, of character images.

Images may be of any size (photos or scans, dark ink on light paper); each goes through the
shared character normaliser. Classes are in NIST36 order when they are all among A-Z and 0-9,
otherwise sorted by name.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ocrkit.data.dataset import NIST36, Dataset
from ocrkit.data.normalize import normalise_character
from ocrkit.errors import OcrkitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm", ".ppm"}


def read_image(path) -> np.ndarray:
    """Read an image file as an array, or raise OcrkitError naming the file."""
    from skimage import io
    path = Path(path)
    try:
        with warnings.catch_warnings():     # imageio's plugin chatter on non-images
            warnings.simplefilter("ignore", DeprecationWarning)
            image = io.imread(path)
    except Exception as exc:
        raise OcrkitError(f"{path}: not a readable image ({type(exc).__name__})") from None
    if image.ndim == 3 and image.shape[0] == 1 and image.shape[-1] not in (1, 2, 3, 4):
        image = image[0]            # single-frame stack
    return image


def class_order(names) -> list[str]:
    names = list(names)
    if all(n in NIST36 for n in names):
        return [c for c in NIST36 if c in names]
    return sorted(names)


def load_folder(root) -> Dataset:
    root = Path(root)
    dirs = {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    if not dirs:
        raise OcrkitError(f"{root}: no class sub-folders (expected one folder per character, "
                          "named by it, holding its images)")
    classes = class_order(dirs)
    xs, ys, skipped = [], [], []
    for index, name in enumerate(classes):
        for f in sorted(dirs[name].iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                xs.append(normalise_character(read_image(f)))
            except (OcrkitError, ValueError):
                skipped.append(f.name)
                continue
            ys.append(index)
    if not xs:
        raise OcrkitError(f"{root}: no readable images in its class folders")
    x = np.stack(xs)
    return Dataset(x, np.array(ys), classes, name=root.name,
                   info={"source": str(root), "skipped": skipped})
