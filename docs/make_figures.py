"""Regenerate the documentation figures that are not training plots.

    .venv/bin/python docs/make_figures.py      # needs $OCRKIT_DATA or ../shared/data

docs/img/synth-vs-real.png: for each class, two `synth` characters beside two real EMNIST
test-split characters (and two NIST36-style nist26_valid letters).
docs/img/synth-lower.png: the lower-case letters of `synth62` (three rows of seed 0) above real
EMNIST lower case (the ByClass file's held-out test part, per class 80/10/10 with seed 2016).
docs/img/synth-pages.png: one synthetic page of each kind (ocrkit.data.pages) with its truth.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ocrkit import plots
from ocrkit.data import NIST36, SPLIT_SEED, load_dataset, stratified_split
from ocrkit.data.dataset import BYCLASS
from ocrkit.data.emnist import emnist_to_canonical, read_idx
from ocrkit.data.pages import render_page
from ocrkit.data.synth import render_characters, synth_dataset

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
    lower_case()
    pages()


def lower_case():
    letters = np.arange(36, 62)
    synth = render_characters(np.tile(letters, 3), np.random.default_rng(0), BYCLASS)
    folder = DATA / "emnist"
    images = read_idx(folder / "emnist-byclass-test-images-idx3-ubyte.gz")
    labels = read_idx(folder / "emnist-byclass-test-labels-idx1-ubyte.gz").astype(np.int64)
    test = stratified_split(labels, (0.8, 0.1, 0.1), SPLIT_SEED)[2]
    real = emnist_to_canonical(images[[test[labels[test] == k][i] for i in range(2)
                                       for k in letters]])
    names = [BYCLASS[k] for k in letters]
    out = Path(__file__).with_name("img") / "synth-lower.png"
    plots.sample_grid(np.concatenate([synth, real]), out, names * 5,
                      "synth62 lower case (top three rows) and EMNIST's (bottom two)", cols=26)
    print(out)


PAGES = [
    ("mixed case", "Hello World\nthe quick brown fox\njumps over 12 dogs", dict(case="mixed")),
    ("ruled, margin line, holes", "It was the best of times\nit was the worst of times",
     dict(case="mixed", ruled=True, margin_line=True, holes=True)),
    ("touching letters", "TOUCHING LETTERS\nMINIMUM", dict(touching=1.0)),
    ("clutter, skew 6", "Shopping list\n2 loaves of bread\n6 eggs",
     dict(case="mixed", clutter=True, skew=6)),
    ("form with printed labels", "GUSTAV\nMAHLER\n0001250981",
     dict(form=True, labels=["First Name:", "Last Name:", "Student Number:"])),
    ("skew -8, drift 4", "LINES THAT DRIFT\nON A TURNED PAGE\nSTILL HAVE BOXES",
     dict(skew=-8, drift=4)),
]


def pages():
    panels = []
    for title, text, options in PAGES:
        image, layout = render_page(text, seed=3, char_height=48, return_layout=True, **options)
        call = ", ".join(f"{k}={v!r}" for k, v in options.items())
        panels.append((f"{title}: render_page(..., {call})" if len(call) < 40 else title,
                       image, layout))
    out = Path(__file__).with_name("img") / "synth-pages.png"
    plots.synthetic_pages(panels, out)
    print(out)


if __name__ == "__main__":
    main()
