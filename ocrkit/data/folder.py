"""A folder with one sub-folder per class, named by its character, of character images.

Images may be of any size (photos or scans, dark ink on light paper); each goes through the
shared character normaliser. Classes are in NIST36 order when they are all among A-Z and 0-9,
otherwise sorted by name (for 0-9, A-Z, a-z that is EMNIST ByClass order; a folder named `~`
holds REJECT samples, "not one character", and sorts last).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrkit.data.dataset import Dataset, class_order
from ocrkit.data.normalize import normalise_character
from ocrkit.errors import OcrkitError
from ocrkit.page.image import load_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm", ".ppm"}


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise OcrkitError(f"{folder}: cannot list ({exc.strerror or exc})") from None


def load_folder(root) -> Dataset:
    """Every image of every class folder of `root`; entries that are not regular files (a
    FIFO would block, a folder named a.png) and images that cannot be read are skipped."""
    root = Path(root)
    dirs = {d.name: d for d in _entries(root) if d.is_dir() and not d.name.startswith(".")}
    if not dirs:
        raise OcrkitError(f"{root}: no class sub-folders (expected one folder per character, "
                          "named by it, holding its images)")
    classes = class_order(dirs)
    xs, ys, skipped = [], [], []
    for index, name in enumerate(classes):
        for f in _entries(dirs[name]):
            if f.suffix.lower() not in IMAGE_SUFFIXES or f.name.startswith("."):
                continue
            if not f.is_file():
                skipped.append(f.name)
                continue
            try:
                xs.append(normalise_character(load_image(f)))
            except (OcrkitError, ValueError):
                skipped.append(f.name)
                continue
            ys.append(index)
    if not xs:
        raise OcrkitError(f"{root}: no readable images in its class folders")
    x = np.stack(xs)
    return Dataset(x, np.array(ys), classes, name=root.name,
                   info={"source": str(root), "skipped": skipped})
