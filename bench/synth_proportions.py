"""Measure the per-class proportions of `synth` characters against EMNIST (synth.py's WIDTHS
and SLANTS).

    python bench/synth_proportions.py [--classes abc...] [--data DIR]

For each class: the median width/height of the ink box (pixels above 0.5) and the median slant
of the ink (second moments, degrees, top to the right) over the EMNIST ByClass train split
(per class 80/10/10, seed 2016, of the file's 62 labels; never its test part) and over 300
synth characters drawn with synth.py's current WIDTHS and SLANTS. Prints the corrected tables:
WIDTHS times (EMNIST ratio / synth ratio) and SLANTS plus (EMNIST slant - synth slant). At the
values in synth.py the corrections are small (run it again after a change of skeletons).
"""
from __future__ import annotations

import argparse
import os
import string
from pathlib import Path

import numpy as np

from ocrkit.data import SPLIT_SEED, stratified_split
from ocrkit.data.dataset import BYCLASS
from ocrkit.data.emnist import emnist_to_canonical, read_idx
from ocrkit.data.synth import SLANTS, WIDTHS, render_characters

ROOT = Path(__file__).resolve().parents[1]


def box_ratio(x: np.ndarray) -> np.ndarray:
    """(N, 32, 32) -> (N,) width / height of the ink box above 0.5."""
    m = x > 0.5
    rows, cols = m.any(2), m.any(1)
    h = 32 - rows.argmax(1) - rows[:, ::-1].argmax(1)
    w = 32 - cols.argmax(1) - cols[:, ::-1].argmax(1)
    return w / np.maximum(h, 1)


def slant(x: np.ndarray) -> np.ndarray:
    """(N, 32, 32) -> (N,) slant of the ink in degrees (top to the right is positive)."""
    r, c = np.mgrid[0:32, 0:32].astype(np.float64)
    mass = x.sum((1, 2))
    mr = (x * r).sum((1, 2)) / mass
    mc = (x * c).sum((1, 2)) / mass
    dr, dc = r - mr[:, None, None], c - mc[:, None, None]
    cov = (x * dr * dc).sum((1, 2)) / mass
    var = (x * dr * dr).sum((1, 2)) / mass
    return np.degrees(np.arctan(-cov / var))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", default=string.ascii_lowercase)
    ap.add_argument("--data", default=os.environ.get("OCRKIT_DATA", "../shared/data"))
    args = ap.parse_args()
    folder = Path(args.data) / "emnist"
    images = read_idx(folder / "emnist-byclass-test-images-idx3-ubyte.gz")
    labels = read_idx(folder / "emnist-byclass-test-labels-idx1-ubyte.gz").astype(np.int64)
    train = stratified_split(labels, (0.8, 0.1, 0.1), SPLIT_SEED)[0]
    widths, slants = {}, {}
    rng = np.random.default_rng(0)
    for c in args.classes:
        k = BYCLASS.index(c)
        real = emnist_to_canonical(images[train[labels[train] == k]])
        mine = render_characters(np.full(300, k), rng, BYCLASS)
        widths[c] = WIDTHS[c] * np.median(box_ratio(real)) / np.median(box_ratio(mine))
        slants[c] = SLANTS[c] + np.median(slant(real)) - np.median(slant(mine))
        print(f"{c}: EMNIST n={len(real)} w/h {np.median(box_ratio(real)):.2f} "
              f"slant {np.median(slant(real)):5.1f} | synth w/h {np.median(box_ratio(mine)):.2f} "
              f"slant {np.median(slant(mine)):5.1f}")
    print("WIDTHS:", ", ".join(f'"{c}": {v:.2f}' for c, v in widths.items()))
    print("SLANTS:", ", ".join(f'"{c}": {v:.1f}' for c, v in slants.items()))


if __name__ == "__main__":
    main()
