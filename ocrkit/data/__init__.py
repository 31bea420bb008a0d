"""Dataset loaders and generators, all returning the same `Dataset` type.

    load_dataset("emnist", split="train")          # by name, from the data folders
    load_dataset("path/to/nist26_valid.mat")        # a path: all of its samples
    load_dataset("my_letters/", split="train")      # a folder of class sub-folders

Named datasets (`nist36`, `emnist`) are looked up in the data folders: `--data-dir`, then
$OCRKIT_DATA, then ./data, each searched at its top and one level down (so data/emnist/... is
found). Splits are `train`, `valid`, `test` and `all`.

- `nist36`: nist36_{train,valid,test}.mat from the 16-720 HW5 data.zip.
- `emnist`: the ByClass IDX gzip files, classes 0-9 and A-Z. With the official train file
  present, its train file is split 90/10 into train/valid (stratified, seed 2016) and the test
  file is the test split. With only the test file (as in ../shared/data), that file is split
  80/10/10 into train/valid/test, per class, shuffled with seed 2016.
- `emnist62`: the same files with all 62 ByClass classes, in ByClass order 0-9, A-Z, a-z,
  split the same way; its digits and capitals land in exactly the splits they have in
  `emnist` (emnist.SPLIT_KEY_62), so either set's test split is unseen by a model trained on
  the other's train split.
- `synth`: procedural hand-printed characters (ocrkit/data/synth.py), no files needed;
  `size` samples over all splits (train 80%, valid and test 10% each, from disjoint random
  streams), 50,000 by default. Classes 0-9 and A-Z in NIST36 order.
- `synth62`: the same with lower case: 62 classes 0-9, A-Z, a-z in EMNIST ByClass order, each
  character scaled to its own box as EMNIST's are (a lower-case o as large as an O).
- A path (.mat, EMNIST .gz, or a folder): `all` is every sample; `train`/`valid`/`test` are a
  fixed 80/10/10 stratified split (seed 2016), so `ocrkit train PATH` has a validation set.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ocrkit.data.dataset import (BYCLASS, NIST36, REJECT, SIZE, Dataset, class_order,
                                 stratified_split)
from ocrkit.errors import OcrkitError

SPLITS = ("train", "valid", "test", "all")
SPLIT_SEED = 2016
NAMES = ("nist36", "emnist", "emnist62", "synth", "synth62")
SYNTH_SIZE = 50_000     # default size of `synth`/`synth62` over all splits (train 80%, valid/test 10%)

EMNIST_TRAIN = "emnist-byclass-train-images-idx3-ubyte.gz"
EMNIST_TEST = "emnist-byclass-test-images-idx3-ubyte.gz"

HOW_TO_GET = {
    "nist36": "download the 16-720 HW5 data.zip (nist36_train/valid/test.mat) with "
              "'ocrkit data fetch nist36'",
    "emnist": "download EMNIST gzip.zip from NIST with 'ocrkit data fetch emnist' (only the "
              "ByClass files are kept)",
}
HOW_TO_GET["emnist62"] = HOW_TO_GET["emnist"]

__all__ = ["BYCLASS", "Dataset", "NIST36", "REJECT", "SIZE", "SPLITS", "default_split", "load_dataset", "data_dirs",
           "find_file", "stratified_split"]


def data_dirs(data_dir=None) -> list[Path]:
    """The folders searched for named datasets, in order."""
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("OCRKIT_DATA"):
        dirs.append(Path(os.environ["OCRKIT_DATA"]))
    dirs.append(Path("data"))
    unique = []
    for d in dirs:
        if not any(d.resolve() == u.resolve() for u in unique):
            unique.append(d)
    return unique


def find_file(filename: str, data_dir=None) -> Path | None:
    for root in data_dirs(data_dir):
        for candidate in [root / filename, *sorted(root.glob(f"*/{filename}"))]:
            if candidate.is_file():
                return candidate
    return None


def _missing(name, filename, data_dir):
    searched = ", ".join(str(d) for d in data_dirs(data_dir))
    return OcrkitError(f"dataset '{name}': {filename} not found in {searched}; "
                       f"{HOW_TO_GET[name]} or point --data-dir / OCRKIT_DATA at it")


def _pick(ds: Dataset, split: str, fractions=(0.8, 0.1, 0.1), key=None) -> Dataset:
    """The `split` part of ds, split per class; `key` (per class index) orders the classes
    the split visits, as emnist62 needs to share emnist's split."""
    if split == "all":
        return ds
    y = ds.y if key is None else key[ds.y]
    parts = dict(zip(("train", "valid", "test"), stratified_split(y, fractions, SPLIT_SEED)))
    out = ds.subset(parts[split])
    out.info["split"] = split
    return out


def _load_nist36(split, data_dir):
    from ocrkit.data.nist import load_mat
    splits = ("train", "valid", "test") if split == "all" else (split,)
    parts = []
    for s in splits:
        path = find_file(f"nist36_{s}.mat", data_dir)
        if path is None:
            raise _missing("nist36", f"nist36_{s}.mat", data_dir)
        parts.append(load_mat(path, s))
    return concatenate(parts, "nist36")


def _load_emnist(split, data_dir, byclass=False):
    from ocrkit.data.emnist import SPLIT_KEY_62, load_idx_pair
    name, key = ("emnist62", SPLIT_KEY_62) if byclass else ("emnist", None)
    test_path = find_file(EMNIST_TEST, data_dir)
    train_path = find_file(EMNIST_TRAIN, data_dir)
    if train_path is not None and test_path is not None:
        if split == "test":
            ds = load_idx_pair(test_path, byclass)
        elif split == "all":
            ds = concatenate([load_idx_pair(train_path, byclass),
                              load_idx_pair(test_path, byclass)], name)
        else:
            ds = _pick(load_idx_pair(train_path, byclass), split if split != "valid" else "test",
                       (0.9, 0.0, 0.1), key)
        ds.info["split"] = split
    elif test_path is not None:
        ds = _pick(load_idx_pair(test_path, byclass), split, key=key)
    else:
        raise _missing(name, EMNIST_TEST, data_dir)
    ds.name = name
    return ds


def _load_path(path: Path, split):
    if path.is_dir():
        from ocrkit.data.folder import load_folder
        ds = load_folder(path)
    elif path.suffix.lower() == ".mat":
        from ocrkit.data.nist import load_mat
        ds = load_mat(path, None if split == "all" else split)
    elif path.name.endswith(".gz") or "idx3" in path.name:
        from ocrkit.data.emnist import load_idx_pair
        ds = load_idx_pair(path)
    else:
        raise OcrkitError(f"{path}: not a dataset (expected a .mat file, an EMNIST "
                          "images .gz file or a folder of class folders)")
    if len(ds.info.get("splits_in_file", ())) > 1 and ds.info["split"] == split:
        return ds   # a .mat file holding several splits: this one was asked for
    return _pick(ds, split)


def default_split(name: str) -> str:
    """The part of a dataset a scoring command uses when none is given: `test` for a name or
    a mix of names (their test split is held out), `all` for a path (a user's own set)."""
    named = all(part.lower() in NAMES and not Path(part).exists() for part in name.split("+"))
    return "test" if named else "all"


def load_dataset(name: str, split: str = "train", data_dir=None, size: int | None = None
                 ) -> Dataset:
    """Load a dataset by name or path; `a+b` concatenates several (e.g. emnist+synth).

    `size` is the number of samples of a generated dataset (`synth`, `synth62`) over all
    splits.
    """
    if split not in SPLITS:
        raise OcrkitError(f"unknown split '{split}'; choose from {', '.join(SPLITS)}")
    if not name.strip() or any(not part.strip() for part in name.split("+")):
        raise OcrkitError(f"empty dataset name {name!r}; give a name ({', '.join(NAMES)}) or a "
                          "path")
    if "+" in name and not Path(name).exists():
        return concatenate([load_dataset(part, split, data_dir, size)
                            for part in name.split("+")], name)
    key = name.lower()
    if key in ("synth", "synth62"):
        return _load_synth(key, split, size or SYNTH_SIZE)
    if key == "nist36":
        return _load_nist36(split, data_dir)
    if key in ("emnist", "emnist62"):
        return _load_emnist(split, data_dir, byclass=key == "emnist62")
    path = Path(name)
    if path.exists():
        return _load_path(path, split)
    raise OcrkitError(f"unknown dataset '{name}': not one of {', '.join(NAMES)} and no such "
                      "file or folder")


def _load_synth(name: str, split: str, size: int) -> Dataset:
    from ocrkit.data.synth import synth_dataset
    if size < 10:
        raise OcrkitError(f"{name} size {size} is too small (at least 10)")
    if size > 2_000_000:
        raise OcrkitError(f"{name} size {size} is too large (at most 2,000,000: 8 GB of images)")
    n = size if split == "all" else max(1, int(size * (0.8 if split == "train" else 0.1)))
    return synth_dataset(n, split, name=name)


def concatenate(parts: list[Dataset], name: str) -> Dataset:
    """One Dataset of all parts' samples. Classes: the first part's when it holds every
    part's, else their union in NIST36 order, or EMNIST ByClass order (0-9 A-Z a-z) when the
    union goes beyond NIST36 (emnist+synth62), or sorted when it goes beyond both."""
    classes = parts[0].classes
    for p in parts[1:]:
        if set(p.classes) - set(classes):
            classes = tuple(class_order(set(classes) | set(p.classes)))
    parts = [p.relabel(classes) for p in parts]
    return Dataset(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                   classes, name, {"parts": [p.name for p in parts]})
