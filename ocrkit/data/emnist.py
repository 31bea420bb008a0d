"""EMNIST in the official IDX gzip layout: all 62 ByClass classes, or the 36 of 0-9 and A-Z.

IDX images are uint8 28x28, white ink on black, stored transposed. They become canonical
characters here: transposed upright, scaled to [0, 1] and padded by 2 pixels to 32x32. ByClass
labels 0-9 are the digits, 10-35 the capitals and 36-61 lower case. The 36-class set (`emnist`)
drops lower case and remaps the rest to NIST36 order (A-Z then 0-9); the 62-class set
(`emnist62`) keeps ByClass order.

An IDX file may come from a stranger: its header's sizes are checked (not negative, their
product in Python integers, at most MAX_BYTES, and for a gzip file at most what deflate can
expand its size to) before the data is read, and exactly that much data must follow.
"""
from __future__ import annotations

import gzip
import math
import stat
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ocrkit.data.dataset import BYCLASS, NIST36, Dataset
from ocrkit.errors import OcrkitError

# ByClass label -> NIST36 index: '0'-'9' (0-9) -> 26..35, 'A'-'Z' (10-35) -> 0..25.
_BYCLASS_TO_NIST36 = np.full(62, -1, dtype=np.int64)
_BYCLASS_TO_NIST36[:10] = np.arange(26, 36)
_BYCLASS_TO_NIST36[10:36] = np.arange(26)

#: The key a 62-class set is split by: NIST36 indices for 0-9 and A-Z, 36-61 for a-z. Split
#: per class in this order, the digits and capitals fall into exactly the train/valid/test
#: parts of the 36-class set, so its test split stays unseen by a 62-class model.
SPLIT_KEY_62 = np.concatenate([_BYCLASS_TO_NIST36[:36], np.arange(36, 62)])

SIDE = 28                   # EMNIST images are 28x28
MAX_BYTES = 1 << 30         # the largest IDX data read (ByClass train: 547 MB)
DEFLATE_RATIO = 1032        # deflate expands at most about this much


def read_idx(path) -> np.ndarray:
    """Read a (gzipped) IDX file: magic 2051 -> uint8 (N, rows, cols), 2049 -> uint8 (N,).

    The last few files read are kept (read-only), so loading train, valid and test splits of one
    file decompresses it once.
    """
    path = Path(path).resolve()
    try:
        info = path.stat()
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise OcrkitError(f"{path}: not a regular file")
    return _read_idx(path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _read_idx(path: Path, mtime_ns: int, size: int) -> np.ndarray:
    gz = path.suffix == ".gz"
    try:
        with (gzip.open if gz else open)(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise OcrkitError(f"{path}: too short to be an IDX file")
            magic, n = (int(v) for v in np.frombuffer(head, ">i4"))
            if magic == 2051:
                more = f.read(8)
                if len(more) < 8:
                    raise OcrkitError(f"{path}: too short to be an IDX images file")
                shape = (n, *(int(v) for v in np.frombuffer(more, ">i4")))
            elif magic == 2049:
                shape = (n,)
            else:
                raise OcrkitError(f"{path}: bad IDX magic number {magic} (expected 2051 or "
                                  "2049)")
            declared = math.prod(shape)
            limit = min(MAX_BYTES, DEFLATE_RATIO * size if gz else size)
            if min(shape) < 0 or declared > limit:
                raise OcrkitError(f"{path}: an IDX header declaring {'x'.join(map(str, shape))}"
                                  f" bytes of data, more than the file can hold (corrupt)")
            raw = f.read(declared + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise OcrkitError(f"{path}: not a readable IDX gzip file ({exc})") from None
    if len(raw) != declared:
        raise OcrkitError(f"{path}: {'truncated' if len(raw) < declared else 'too long an'} "
                          f"IDX file ({len(raw)}{'+' if len(raw) > declared else ''} bytes of "
                          f"data for shape {'x'.join(map(str, shape))})")
    return np.frombuffer(raw, np.uint8).reshape(shape)


def labels_path_for(images_path: Path) -> Path:
    return images_path.with_name(images_path.name.replace("images-idx3", "labels-idx1"))


def emnist_to_canonical(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) EMNIST (transposed, white on black) -> float32 (N, 32, 32) canonical."""
    x = np.zeros((len(images), 32, 32), dtype=np.float32)
    x[:, 2:30, 2:30] = images.transpose(0, 2, 1)
    x *= np.float32(1 / 255)
    return x


def load_idx_pair(images_path, byclass: bool = False) -> Dataset:
    """An EMNIST ByClass images file and its labels file (found by name) as a 36-class set
    (NIST36 order), or with `byclass` as the 62-class set in ByClass order."""
    images_path = Path(images_path)
    labels_path = labels_path_for(images_path)
    if labels_path == images_path or not labels_path.exists():
        raise OcrkitError(f"{images_path}: its labels file {labels_path.name} is not beside it")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise OcrkitError(f"{images_path}: images {images.shape} and labels {labels.shape} "
                          "do not match")
    if images.shape[1:] != (SIDE, SIDE):
        raise OcrkitError(f"{images_path}: images of {images.shape[1]}x{images.shape[2]} "
                          f"pixels; EMNIST's are {SIDE}x{SIDE}")
    if labels.max(initial=0) >= 62:
        raise OcrkitError(f"{labels_path}: labels up to {labels.max()}, not the EMNIST ByClass "
                          "mapping (0-61)")
    info = {"source": str(images_path)}
    if byclass:
        return Dataset(emnist_to_canonical(images), labels.astype(np.int64), BYCLASS,
                       name=images_path.name, info=info)
    y = _BYCLASS_TO_NIST36[labels]
    keep = np.flatnonzero(y >= 0)
    return Dataset(emnist_to_canonical(images[keep]), y[keep], NIST36, name=images_path.name,
                   info=info)
