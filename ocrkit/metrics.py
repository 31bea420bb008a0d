"""Scores: accuracy, confusion matrix, most confused pairs, edit distance, CER/WER, PSNR."""
from __future__ import annotations

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    idx = np.asarray(y_true, np.int64) * n_classes + np.asarray(y_pred, np.int64)
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (NaN for a class with no samples)."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def top_confusions(cm: np.ndarray, classes, top: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent (true, predicted, count) mistakes, largest first."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:top]
    pairs = []
    for flat in order:
        t, p = divmod(int(flat), cm.shape[1])
        if off[t, p] == 0:
            break
        pairs.append((classes[t], classes[p], int(off[t, p])))
    return pairs


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (strings or lists of words)."""
    a, b = list(a), list(b)
    if len(a) < len(b):
        a, b = b, a
    prev = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        cur = np.empty_like(prev)
        cur[0] = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return int(prev[-1])


def psnr(reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(range^2 / MSE)."""
    mse = float(np.mean((np.asarray(reference, np.float64) - estimate) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)


def classifier_report(model, dataset) -> dict:
    """Score a classifier Model on a Dataset whose classes it knows.

    Returns accuracy (0..1), n, per-class accuracy, the confusion matrix over the model's
    classes, and the predictions.
    """
    from ocrkit.errors import OcrkitError
    try:
        ds = dataset.relabel(model.classes)
    except ValueError:
        unknown = "".join(c for c in dataset.classes if c not in model.classes)
        raise OcrkitError(f"the dataset has classes the model does not know ({unknown}); "
                          f"the model knows {''.join(model.classes)}") from None
    if len(ds) == 0:
        raise OcrkitError(f"dataset {dataset.name} has no samples")
    pred = model.predict(ds.x)
    cm = confusion_matrix(ds.y, pred, len(model.classes))
    per_class = per_class_accuracy(cm)
    present = [i for i, c in enumerate(model.classes) if cm[i].sum() > 0]
    return {
        "accuracy": accuracy(ds.y, pred),
        "n": int(len(ds)),
        "per_class": {model.classes[i]: float(per_class[i]) for i in present},
        "confusion": cm,
        "predictions": pred,
        "labels": ds.y,
    }


def normalise_text(text: str) -> str:
    """Text as OCR output is compared: upper case, each line's words joined by one space,
    empty lines dropped."""
    lines = (" ".join(line.upper().split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def error_rates(text: str, truth: str) -> dict:
    """Character and word error rates of `text` against `truth` after normalise_text.

    CER = edit distance over characters (line breaks count as one character each) / len(truth);
    WER = edit distance over words / number of truth words.
    """
    text, truth = normalise_text(text), normalise_text(truth)
    char_errors = edit_distance(text, truth)
    word_errors = edit_distance(text.split(), truth.split())
    return {"cer": char_errors / max(len(truth), 1), "wer": word_errors / max(len(truth.split()), 1),
            "char_errors": char_errors, "chars": len(truth),
            "word_errors": word_errors, "words": len(truth.split())}
