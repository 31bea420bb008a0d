"""Inference levers measured on the dev sets: test-time augmentation and class-prior correction.

    python bench/levers.py [--crops out/crops] [--tta 4,8] [--powers 0.25,0.5] [--models ...]

For each shipped model and test set, the accuracy (plain, twins merged and, for the 62-class
model, twins and case pairs merged) of
- test-time augmentation (TTA, ocrkit.inference.tta_proba): the model's probabilities averaged
  over the crop and N fixed small warps of it (shift, rotation, scale, aspect, slant; the
  training augmentation's affine map with smaller ranges, no elastic field, stroke or noise);
- class-prior correction (ocrkit.inference.prior_correct): probabilities divided by the
  training set's class frequencies to the power alpha (the reject class's share included),
  so classes the training set holds many of (0 beside O, 1 beside I) lose their lean;
and both together. The sets: the emnist62 and emnist test splits, nist26_valid (restricted to
its 26 letters, and unrestricted) and the real-page crops of `make crops` (out/crops: all 62
classes; out/crops36: its digits and capitals), on which the model never chooses the reject
class (a page never reads a crop as `~`). Prints a markdown table (models/MODELS.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocrkit import modelfile                                            # noqa: E402
from ocrkit.data import REJECT, load_dataset                           # noqa: E402
from ocrkit.inference import prior_correct, training_prior, tta_proba  # noqa: E402
from ocrkit.metrics import (CASE_PAIRS, TWINS, confusion_matrix,       # noqa: E402
                            merge_groups, merged_accuracy)


def sets(model, crops: Path, data: Path):
    """(name, dataset, allowed class mask or None) for the model."""
    classes = np.array(model.classes)
    real = classes != REJECT
    nist = data / "nist26" / "nist26_valid.mat"
    out = []
    if len(classes) > 40:
        out.append(("emnist62 test", load_dataset("emnist62", "test"), None))
    emnist = load_dataset("emnist", "test")
    out.append(("emnist test" + (" (among 0-9 A-Z)" if len(classes) > 40 else ""), emnist,
                np.isin(classes, emnist.classes)))
    n26 = load_dataset(str(nist), "all")
    out.append(("nist26 --restrict", n26, np.isin(classes, n26.classes)))
    out.append(("nist26", n26, None))
    if (crops).is_dir() and len(classes) > 40:
        out.append(("crops (no ~)", load_dataset(str(crops), "all"), real))
    c36 = crops.with_name(crops.name + "36")
    if c36.is_dir():
        out.append(("crops36 (no ~)", load_dataset(str(c36), "all"), real))
    return out


def predictions(proba, allowed):
    if allowed is not None:
        proba = np.where(allowed, proba, -1.0)
    return proba.argmax(1)


def scores(pred, ds, classes):
    cm = confusion_matrix(ds.y, pred, len(classes))
    out = [float(np.mean(pred == ds.y)), merged_accuracy(cm, classes, TWINS)]
    if len(classes) > 40:
        out.append(merged_accuracy(cm, classes, TWINS + CASE_PAIRS))
    return out


def right_twins(pred, ds, classes):
    """Per sample, whether it is read right with the twins merged."""
    group = merge_groups(classes, TWINS)
    return group[pred] == group[ds.y]


def changes(pred, base, ds, classes) -> str:
    """Samples a variant reads right that the plain model did not, and the reverse: plain
    accuracy, then twins merged."""
    out = []
    for now, before in ((pred == ds.y, base == ds.y),
                        (right_twins(pred, ds, classes), right_twins(base, ds, classes))):
        out.append(f"+{int(np.sum(now & ~before))} -{int(np.sum(before & ~now))}")
    return " / ".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, default=ROOT / "out" / "crops")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "OCRKIT_DATA", ROOT.parent / "shared" / "data")))
    parser.add_argument("--models", default="models/default.pkl,models/default36.pkl")
    parser.add_argument("--tta", default="4,8")
    parser.add_argument("--powers", default="0.25,0.5")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ttas = [int(n) for n in args.tta.split(",") if n]
    powers = [float(a) for a in args.powers.split(",") if a]
    for path in args.models.split(","):
        model = modelfile.load(ROOT / path if not Path(path).is_absolute() else path)
        prior = training_prior(model)
        classes = list(model.classes)
        merged = "twins / twins+case" if len(classes) > 40 else "twins"
        print(f"\n{path} (accuracy / {merged} merged; prior from "
              f"{prior['source']})\n")
        cols = ["plain"] + [f"prior^{a:g}" for a in powers] + [f"TTA {n}" for n in ttas] + \
            [f"TTA {ttas[-1]} + prior^{a:g}" for a in powers]
        header = ("| set | n | " + " | ".join(cols) + " |\n" + "|---|---|" + "---|" * len(cols))
        print(header)
        diffs = []
        for name, ds, allowed in sets(model, args.crops, args.data):
            ds = ds.relabel(model.classes)
            t = time.perf_counter()
            plain = tta_proba(model, ds.x, 0)
            augmented = {n: tta_proba(model, ds.x, n, seed=args.seed) for n in ttas}
            variants = [plain] + [prior_correct(plain, prior["prior"], a) for a in powers] + \
                [augmented[n] for n in ttas] + \
                [prior_correct(augmented[ttas[-1]], prior["prior"], a) for a in powers]
            preds = [predictions(p, allowed) for p in variants]
            cells = [" / ".join(f"{100 * v:.1f}" for v in scores(p, ds, classes))
                     for p in preds]
            print(f"| {name} | {len(ds)} | " + " | ".join(cells) + " |", flush=True)
            diffs.append(f"| {name} | {len(ds)} | - | " + " | ".join(
                changes(p, preds[0], ds, classes) for p in preds[1:]) + " |")
            print(f"  ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
        print(f"\nthe same, samples gained and lost against plain (accuracy / twins merged)\n")
        print(header)
        print("\n".join(diffs))


if __name__ == "__main__":
    main()
