"""`make calibrate`: how far a character's confidence is the chance it is right, and the
temperature that makes it so.

1. The temperature T (probabilities become softmax(log p / T)) that minimises the negative
   log-likelihood on the emnist62 validation split, over a grid; case twins (c/C, o/O, ...)
   summed as the page reader sums them, so a reading is right when its shape is.
2. The expected calibration error (15 bins) before and after, on the emnist62 test split and
   on the characters `ocrkit ocr` reads on the shared real pages (each read character
   matched to the truth by the edit-distance alignment, case folded).
3. docs/img/reliability.png, and with --write the temperature stored in the model file
   (scores["calibration"]), which the page reader then applies.

    python bench/calibration.py [--model models/default.pkl] [--write]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GRID = np.round(np.arange(0.6, 4.01, 0.05), 2)


def merged(probs, classes):
    from ocrkit.data.dataset import REJECT
    from ocrkit.page.case import merge_twins
    p = merge_twins(probs, classes)
    p[:, [i for i, c in enumerate(classes) if c == REJECT]] = 0.0
    return p


def scaled(probs, t):
    logp = np.log(np.maximum(probs, 1e-30)) / t
    logp -= logp.max(1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(1, keepdims=True)


def char_scores(model, ds, t):
    """(confidence, right) of every character of `ds` at temperature t."""
    from ocrkit.page.case import TWINS
    classes = list(model.classes)
    p = merged(scaled(model.predict_proba(ds.x), t), classes)
    pred = p.argmax(1)
    conf = p[np.arange(len(pred)), pred]
    truth = np.array([ds.classes[y] for y in ds.y])
    said = np.array([classes[k] for k in pred])
    right = (said == truth) | ((np.char.lower(said) == np.char.lower(truth))
                               & np.isin(np.char.lower(truth), list(TWINS)))
    return conf, right


def nll(model, ds, t, raw):
    classes = list(model.classes)
    p = merged(scaled(raw, t), classes)
    idx = [classes.index(ds.classes[y]) for y in ds.y]
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(idx)), idx], 1e-12))))


def page_scores(model, pages_dir):
    from ocrkit import Reader
    from ocrkit.metrics import aligned_correct
    reader = Reader(model)
    conf, right = [], []
    for image in sorted(pages_dir.iterdir()):
        if image.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        truth = image.with_name(image.stem + ".gt.txt").read_text(encoding="utf-8-sig")
        page = reader.read(image)
        ok = aligned_correct(page.text, truth)
        conf.extend(c.confidence for c in page.chars)
        right.extend(ok[:len(page.chars)])
    return np.array(conf), np.array(right, bool)


def main():
    from ocrkit import modelfile
    from ocrkit.data import load_dataset
    from ocrkit.metrics import expected_calibration_error as ece
    from ocrkit import plots
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(modelfile.default_model_path()))
    ap.add_argument("--write", action="store_true", help="store the temperature in --model")
    data = Path(os.environ.get("OCRKIT_DATA", ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    model = modelfile.load(args.model)
    model.scores.pop("calibration", None)
    valid, test = load_dataset("emnist62", "valid"), load_dataset("emnist62", "test")
    raw = model.predict_proba(valid.x)
    t = min(GRID, key=lambda t: nll(model, valid, t, raw))
    print(f"temperature {t:.2f} (NLL on emnist62 valid {nll(model, valid, 1.0, raw):.4f} -> "
          f"{nll(model, valid, t, raw):.4f})")
    curves = {}
    for name, temp in (("T=1", 1.0), (f"T={t:.2f}", t)):
        c, r = char_scores(model, test, temp)
        print(f"emnist62 test, {name}: ECE {ece(c, r):.4f}  accuracy {r.mean():.4f}  "
              f"n={len(c)}")
        curves[f"EMNIST test, {name}"] = (c, r)
    pages = data / "pages"
    if pages.is_dir():
        for name, temp in (("T=1", 1.0), (f"T={t:.2f}", t)):
            model.scores["calibration"] = {"temperature": temp}
            c, r = page_scores(model, pages)
            print(f"real pages ({pages}), {name}: ECE {ece(c, r):.4f}  accuracy "
                  f"{r.mean():.4f}  n={len(c)}")
            curves[f"real pages, {name}"] = (c, r)
    out = plots.reliability(curves, ROOT / "docs" / "img" / "reliability.png")
    print(f"figure: {out}", file=sys.stderr)
    if args.write:
        model.scores["calibration"] = {"temperature": float(t), "fitted_on": "emnist62 valid",
                                       "by": "bench/calibration.py (make calibrate)"}
        modelfile.save(model, args.model)
        print(f"{args.model}: temperature {t:.2f} stored", file=sys.stderr)


if __name__ == "__main__":
    main()
