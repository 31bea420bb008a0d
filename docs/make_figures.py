"""Regenerate the documentation figures that are not training plots.

    .venv/bin/python docs/make_figures.py      # needs $OCRKIT_DATA or ../shared/data

docs/img/synth-vs-real.png: for each class, two `synth` characters beside two real EMNIST
test-split characters (and two NIST36-style nist26_valid letters).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ocrkit import plots
from ocrkit.data import NIST36, load_dataset
from ocrkit.data.synth import synth_dataset

DATA = Path(os.environ.get("OCRKIT_DATA", Path(__file__).resolve().parents[2] / "shared/data"))


def first_of_each(ds, k=2):
    pick = [i for c in range(len(NIST36)) for i in np.flatnonzero(ds.y == c)[:k]]
    return ds.x[pick], [ds.classes[ds.y[i]] for i in pick]


def main():
    synth = synth_dataset(2000, "test")
    emnist = load_dataset("emnist", "test", DATA)
    nist = load_dataset(str(DATA / "nist26/nist26_valid.mat"), "all").relabel(NIST36)
    rows, labels = [], []
    for name, ds in (("synth", synth), ("EMNIST", emnist), ("nist26", nist)):
        x, lab = first_of_each(ds, 1)
        rows.append(x)
        labels += [f"{name} {c}" if i == 0 else c for i, c in enumerate(lab)]
    grid = np.concatenate(rows)
    out = Path(__file__).with_name("img") / "synth-vs-real.png"
    plots.sample_grid(grid, out, labels, "one character per class: synth (top), "
                      "EMNIST test (middle), nist26_valid (bottom, letters only)", cols=36)
    print(out)


if __name__ == "__main__":
    main()
