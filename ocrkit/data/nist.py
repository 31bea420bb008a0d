"""NIST-layout .mat files (the 16-720 HW5 nist36_*.mat / nist26_valid.mat).

Each holds `<split>_data` (N, 1024): a 32x32 image stored column-major (transposed), dark ink on
white, values about -0.14..1.14; and `<split>_labels` (N, C) one-hot with C = 36 (A-Z then 0-9)
or 26 (A-Z). They are turned into canonical characters here, once.

A .mat file may come from a stranger: its variables' declared sizes are read first
(scipy.io.whosmat, headers only) and checked against the file's size before anything is
loaded, only the two arrays used are loaded, and they must be plain finite numbers (not a cell
array, a sparse matrix, a struct or text).
"""
from __future__ import annotations

import math
import stat
from pathlib import Path

import numpy as np
import scipy.io

from ocrkit.data.dataset import NIST36, Dataset
from ocrkit.errors import OcrkitError

# zlib's deflate expands at most about 1032:1, so a compressed variable declaring more than
# that many bytes per byte of file is corrupt; nothing is loaded above MAX_BYTES either.
DEFLATE_RATIO = 1032
MAX_BYTES = 2 << 30
NUMERIC = {"double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2,
           "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "logical": 1}


def nist_to_canonical(data: np.ndarray) -> np.ndarray:
    """(N, 1024) NIST layout (transposed, dark on white) -> (N, 32, 32) upright, ink 1 on 0."""
    x = 1.0 - np.asarray(data, dtype=np.float32).reshape(-1, 32, 32).transpose(0, 2, 1)
    return np.clip(x, 0.0, 1.0)


def load_mat(path, split: str | None = None) -> Dataset:
    """Load a NIST-layout .mat file. With several `<split>_data` keys, `split` picks one."""
    path = Path(path)
    size = _regular_file_size(path)
    try:
        declared = {name: (shape, kind) for name, shape, kind in scipy.io.whosmat(str(path))}
    except Exception as exc:  # scipy raises several types for a bad file
        raise OcrkitError(f"{path}: not a readable MATLAB .mat file ({_short(exc)})") from None
    prefixes = sorted(k[:-5] for k in declared
                      if k.endswith("_data") and f"{k[:-5]}_labels" in declared)
    if not prefixes:
        keys = ", ".join(k for k in declared if not k.startswith("__")) or "none"
        raise OcrkitError(f"{path}: no '<split>_data' and '<split>_labels' arrays "
                          f"(keys found: {_short(keys)})")
    if split in prefixes:
        prefix = split
    elif len(prefixes) == 1:
        prefix = prefixes[0]
    else:
        raise OcrkitError(f"{path}: holds splits {', '.join(prefixes)}; choose one with --split")
    names = [f"{prefix}_data", f"{prefix}_labels"]
    total = 0
    for name in names:
        shape, kind = declared[name]
        if kind not in NUMERIC:
            raise OcrkitError(f"{path}: {name} is a MATLAB {kind} array, not a numeric matrix")
        total += math.prod(shape) * NUMERIC[kind]
    if total > min(DEFLATE_RATIO * size, MAX_BYTES):
        raise OcrkitError(f"{path}: {', '.join(names)} declare {total:,} bytes, more than a "
                          f"file of {size:,} bytes can hold (corrupt)")
    try:
        mat = scipy.io.loadmat(str(path), variable_names=names)
        data, labels = mat[names[0]], mat[names[1]]
    except Exception as exc:
        raise OcrkitError(f"{path}: not a readable MATLAB .mat file ({_short(exc)})") from None
    for name, a in zip(names, (data, labels)):
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
            raise OcrkitError(f"{path}: {name} is not a numeric matrix")
        if not np.isfinite(a).all():
            raise OcrkitError(f"{path}: {name} holds NaN or infinite values")
    if data.ndim != 2 or data.shape[1] != 1024:
        raise OcrkitError(f"{path}: {prefix}_data has shape {data.shape}, expected (N, 1024)")
    if labels.ndim != 2 or len(labels) != len(data) or labels.shape[1] not in (26, 36):
        raise OcrkitError(f"{path}: {prefix}_labels has shape {labels.shape}, expected "
                          f"({len(data)}, 36) or ({len(data)}, 26) one-hot")
    classes = NIST36[:labels.shape[1]]
    return Dataset(nist_to_canonical(data), np.argmax(labels, axis=1), classes,
                   name=path.name, info={"source": str(path), "split": prefix,
                                         "splits_in_file": prefixes})


def _regular_file_size(path: Path) -> int:
    """The size of a regular file (a FIFO would block the reader forever)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise OcrkitError(f"{path}: not a regular file")
    return info.st_size


def _short(exc) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
