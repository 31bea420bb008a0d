"""`make twins`: how far can a single-character classifier get on EMNIST's letter/digit twins?

Most of the default model's EMNIST test errors are O/0, I/1 and S/5. This trains a specialist:
the default architecture and recipe on those six classes alone (EMNIST train split, 12
epochs, augmented), then scores on the EMNIST test split
- the 36-class default model (models/default36.pkl, the default before the 62-class one);
- the default model with the specialist re-deciding every reading that falls among the six
  (a second opinion from a network that has nothing else to learn);
and prints both confusion tables over the six. If even the specialist cannot tell the twins
apart, no single-character model of this kind reaches the 95% aim: the rest must come from
context (a word, a line, a known alphabet: `--restrict`, `--alphabet`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrkit import modelfile
from ocrkit.config import TrainConfig
from ocrkit.data import load_dataset
from ocrkit.data.dataset import Dataset
from ocrkit.engine.specs import arch_specs
from ocrkit.metrics import confusion_matrix
from ocrkit.train import train_model

TWINS = "O0I1S5"
ARCH = "conv32-pool-conv64-pool-fc256-drop0.3"


def twins_only(ds: Dataset) -> Dataset:
    keep = np.isin(np.asarray(ds.classes)[ds.y], list(TWINS))
    lut = np.array([TWINS.find(c) for c in ds.classes])
    return Dataset(ds.x[keep], lut[ds.y[keep]], tuple(TWINS), "twins", {})


def confusion(truth: np.ndarray, pred: np.ndarray, classes) -> str:
    """Rows: true twin class; columns: the twin read, or '-' for any other class."""
    cm = confusion_matrix(truth, pred, len(classes))
    twins = [list(classes).index(c) for c in TWINS]
    rows = cm[twins]
    table = np.column_stack([rows[:, twins], rows.sum(axis=1) - rows[:, twins].sum(axis=1)])
    lines = ["true  " + " ".join(f"{n:>5}" for n in list(TWINS) + ["-"])]
    lines += [f"  {TWINS[i]}   " + " ".join(f"{v:5d}" for v in row) for i, row in enumerate(table)]
    return "\n".join(lines)


def main():
    default = modelfile.load(Path(__file__).resolve().parents[1] / "models" / "default36.pkl")
    test = load_dataset("emnist", "test").relabel(default.classes)
    train, valid = (twins_only(load_dataset("emnist", s)) for s in ("train", "valid"))
    print(f"specialist: {ARCH} on {''.join(TWINS)} only, {len(train.y)} training samples")
    specialist, _ = train_model(arch_specs(ARCH, len(TWINS)), train, valid,
                                TrainConfig(epochs=12, batch_size=64, schedule="cosine",
                                            augment=True, seed=0), progress=False)

    pred = np.argmax(default.network.predict(test.x), axis=1)
    classes = default.classes
    second = pred.copy()
    among = np.isin(np.asarray(classes)[pred], list(TWINS))
    twin_pick = np.argmax(specialist.network.predict(test.x[among]), axis=1)
    second[among] = [classes.index(TWINS[i]) for i in twin_pick]

    n = len(test.y)
    for name, p in (("default36.pkl", pred), ("default36.pkl + twin specialist", second)):
        errors = int(np.sum(p != test.y))
        in_twins = int(np.sum((p != test.y) & np.isin(np.asarray(classes)[test.y], list(TWINS))))
        print(f"\n{name}: EMNIST test {1 - errors / n:.2%} ({errors} errors of {n}, "
              f"{in_twins} on true twins)\n{confusion(test.y, p, classes)}")
    print(f"\nthe 95% aim allows {int(n * 0.05)} errors in all")


if __name__ == "__main__":
    main()
