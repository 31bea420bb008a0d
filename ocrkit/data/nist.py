"""NIST-layout .mat files (the 16-720 HW5 nist36_*.mat / nist26_valid.mat).

Each holds `<split>_data` (N, 1024): a 32x32 image stored column-major (transposed), dark ink on
white, values about -0.14..1.14; and `<split>_labels` (N, C) one-hot with C = 36 (A-Z then 0-9)
or 26 (A-Z). They are turned into canonical characters here, once.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from ocrkit.data.dataset import NIST36, Dataset
from ocrkit.errors import OcrkitError


def nist_to_canonical(data: np.ndarray) -> np.ndarray:
    """(N, 1024) NIST layout (transposed, dark on white) -> (N, 32, 32) upright, ink 1 on 0."""
    x = 1.0 - np.asarray(data, dtype=np.float32).reshape(-1, 32, 32).transpose(0, 2, 1)
    return np.clip(x, 0.0, 1.0)


def load_mat(path, split: str | None = None) -> Dataset:
    """Load a NIST-layout .mat file. With several `<split>_data` keys, `split` picks one."""
    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a bad file
        raise OcrkitError(f"{path}: not a readable MATLAB .mat file ({exc})") from None
    prefixes = sorted(k[:-5] for k in mat if k.endswith("_data") and f"{k[:-5]}_labels" in mat)
    if not prefixes:
        keys = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise OcrkitError(f"{path}: no '<split>_data' and '<split>_labels' arrays "
                          f"(keys found: {keys})")
    if split in prefixes:
        prefix = split
    elif len(prefixes) == 1:
        prefix = prefixes[0]
    else:
        raise OcrkitError(f"{path}: holds splits {', '.join(prefixes)}; choose one with --split")
    data, labels = mat[f"{prefix}_data"], mat[f"{prefix}_labels"]
    if data.ndim != 2 or data.shape[1] != 1024:
        raise OcrkitError(f"{path}: {prefix}_data has shape {data.shape}, expected (N, 1024)")
    if labels.ndim != 2 or len(labels) != len(data) or labels.shape[1] not in (26, 36):
        raise OcrkitError(f"{path}: {prefix}_labels has shape {labels.shape}, expected "
                          f"({len(data)}, 36) or ({len(data)}, 26) one-hot")
    classes = NIST36[:labels.shape[1]]
    return Dataset(nist_to_canonical(data), np.argmax(labels, axis=1), classes,
                   name=path.name, info={"source": str(path), "split": prefix,
                                         "splits_in_file": prefixes})
