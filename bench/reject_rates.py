"""How often a model with the reject class rejects real characters: the EMNIST ByClass test
split as stored (EMNIST's own centring and scaling) and after `normalise_character`, the form
a page crop reaches the model in (models/MODELS.md, default.pkl).

    OCRKIT_DATA=../shared/data .venv/bin/python bench/reject_rates.py [MODEL]
"""
from __future__ import annotations

import sys

import numpy as np

from ocrkit import modelfile
from ocrkit.data import REJECT, load_dataset
from ocrkit.data.normalize import normalise_character


def main(path: str | None = None):
    model = modelfile.load(path or modelfile.default_model_path())
    test = load_dataset("emnist62", "test").relabel(model.classes)
    reject = model.classes.index(REJECT)
    normalised = np.stack([normalise_character(c, ink_on_dark=True) for c in test.x])
    for name, x in (("as stored", test.x), ("through normalise_character", normalised)):
        pred = model.predict(x)
        print(f"emnist62 test {name}: accuracy {np.mean(pred == test.y):.4f}, rejected "
              f"{np.mean(pred == reject):.4f} of {len(pred)}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
