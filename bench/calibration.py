"""`make calibrate`: how far a character's confidence is the chance it is right, and the
temperature that makes it so.

1. The temperature T (probabilities become softmax(log p / T)) that minimises the negative
   log-likelihood on the emnist62 validation split, over a grid; case twins (c/C, o/O, ...)
   summed as the page reader sums them, so a reading is right when its shape is.
2. The expected calibration error (15 bins) before and after, on the emnist62 test split and
   on the characters `ocrkit ocr` reads on the shared real pages (each read character
   matched to the truth by the edit-distance alignment, case folded).
3. On the real pages, the confidence a read character ends with (after the committee of
   the two models, the look-alikes, the lexicon and the case) is not the character model's:
   a map sigmoid(a logit(c) + b) (Platt scaling, two numbers) is fitted to the pages'
   characters, and scored honestly by leaving each page out of the fit that scores it.
4. docs/img/reliability.png, and with --write the temperature and the page map stored in the
   model file (scores["calibration"]), which the page reader then applies.

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
    """[(confidence, right)] of the characters `ocrkit ocr` reads on each real page."""
    from ocrkit import Reader
    from ocrkit.metrics import aligned_correct
    reader = Reader(model)
    pages = []
    for image in sorted(pages_dir.iterdir()):
        if image.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        truth = image.with_name(image.stem + ".gt.txt").read_text(encoding="utf-8-sig")
        page = reader.read(image)
        ok = aligned_correct(page.text, truth)
        pages.append((np.array([c.confidence for c in page.chars], float),
                      np.array(ok[:len(page.chars)], bool)))
    return pages


# a page's characters weigh 1/n^PAGE_WEIGHT each in the map's fit (n: the page's count), so
# the two printed forms (1,459 of 2,131 characters) do not set it alone. Each page left out
# and scored by the map fitted on the others (this stop): 0 (every character alike) 0.0729,
# 0.25 0.0664, 0.5 0.0605, 0.75 0.0607, 1 (every page alike) 0.0606.
PAGE_WEIGHT = 0.5


def fit_platt(conf, right, weight=None):
    """(a, b) minimising the (weighted) log loss of sigmoid(a logit(conf) + b) against
    `right`."""
    from scipy.optimize import minimize

    from ocrkit.page.read import calibrate_confidence     # the map the page reader applies
    y = right.astype(float)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, float) / np.mean(weight)

    def loss(ab):
        p = np.clip(calibrate_confidence(conf, ab), 1e-12, 1 - 1e-12)
        return float(-np.mean(w * (y * np.log(p) + (1 - y) * np.log(1 - p))))

    # a simplex of unit steps in both numbers (Nelder-Mead's default step for b = 0 is
    # 0.00025, and it runs out of evaluations crawling from there)
    fit = minimize(loss, [1.0, 0.0], method="Nelder-Mead",
                   options={"initial_simplex": [[1.0, 0.0], [1.5, 0.0], [1.0, 1.0]],
                            "xatol": 1e-4, "fatol": 1e-9, "maxfev": 2000})
    return tuple(float(v) for v in fit.x)


def page_fit(pages):
    """The page map (a, b) fitted on `pages` [(confidences, right)], each page's characters
    weighing 1/n^PAGE_WEIGHT."""
    weight = np.concatenate([np.full(len(c), float(len(c)) ** -PAGE_WEIGHT) for c, _ in pages])
    return fit_platt(np.concatenate([c for c, _ in pages]), np.concatenate([r for _, r in pages]),
                     weight)


def left_out(pages):
    """Each page's characters scored by the map fitted on the other pages."""
    from ocrkit.page.read import calibrate_confidence
    out = []
    for i, (c, _) in enumerate(pages):
        ab = page_fit([p for j, p in enumerate(pages) if j != i])
        out.append(calibrate_confidence(c, ab))
    return np.concatenate(out)


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
    pages_dir, ab, cv = data / "pages", None, None
    if pages_dir.is_dir():
        model.scores["calibration"] = {"temperature": t}
        pages = [p for p in page_scores(model, pages_dir) if len(p[0])]
        c, r = np.concatenate([p[0] for p in pages]), np.concatenate([p[1] for p in pages])
        print(f"real pages ({pages_dir}), T={t:.2f}, no page map: ECE {ece(c, r):.4f}  "
              f"accuracy {r.mean():.4f}  mean confidence {c.mean():.4f}  n={len(c)}")
        curves[f"real pages, T={t:.2f}"] = (c, r)
        ab = page_fit(pages)
        held = left_out(pages)
        cv = ece(held, r)
        print(f"real pages, page map a={ab[0]:.3f} b={ab[1]:.3f}: ECE {cv:.4f} (each page "
              f"scored by the map fitted on the other {len(pages) - 1})")
        curves["real pages, page map (page left out)"] = (held, r)
    out = plots.reliability(curves, ROOT / "docs" / "img" / "reliability.png")
    print(f"figure: {out}", file=sys.stderr)
    if args.write:
        model.scores["calibration"] = {"temperature": float(t), "fitted_on": "emnist62 valid",
                                       "by": "bench/calibration.py (make calibrate)"}
        if ab is not None:
            model.scores["calibration"].update(
                page=[round(ab[0], 4), round(ab[1], 4)], page_fitted_on=f"{pages_dir.name}/ "
                f"({len(pages)} pages, with the shipped line model)", page_ece_left_out=cv)
        modelfile.save(model, args.model)
        print(f"{args.model}: calibration stored: {model.scores['calibration']}", file=sys.stderr)


if __name__ == "__main__":
    main()
