"""Scores: accuracy, confusion matrix, most confused pairs, edit distance, CER/WER, PSNR,
and the PCA baseline an autoencoder is compared with."""
from __future__ import annotations

import numpy as np

from ocrkit.progress import progress_chunks


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


#: Digit/letter twins no single-character model tells apart on every writer (issue 16); on a
#: page they are settled by context. Lower-case l joins I and 1 in a 62-class model.
TWINS = ("O0", "I1l", "S5", "Z2")
#: Case pairs that differ only in size (EMNIST scales every character to its box), decided on
#: a page from the line's geometry, not by the model. i/I and j/J are not among them: the dot
#: tells them apart in the crop itself.
CASE_PAIRS = ("cC", "kK", "mM", "oO", "pP", "sS", "uU", "vV", "wW", "xX", "yY", "zZ")


def merge_groups(classes, groups) -> np.ndarray:
    """A group index per class: classes named together in one of `groups` (strings of class
    names; groups sharing a class join, so o/O and O/0 make o/O/0) share one index, every
    other class is a group of its own."""
    classes = list(classes)
    group = np.arange(len(classes))
    for names in groups:
        members = [classes.index(c) for c in names if c in classes]
        if len(members) > 1:
            joined = np.isin(group, group[members])
            group[joined] = group[members].min()
    return group


def merged_accuracy(cm: np.ndarray, classes, groups) -> float:
    """Accuracy from a confusion matrix when a reading within the true class's merge group
    (`merge_groups`) counts as right."""
    group = merge_groups(classes, groups)
    same = group[:, None] == group[None, :]
    total = cm.sum()
    return float(cm[same].sum() / total) if total else 0.0


def reject_scores(cm: np.ndarray, classes) -> dict:
    """For a model with the reject class: how often real characters are rejected and, when the
    set has reject samples, the class's precision and recall (None without the class)."""
    from ocrkit.data.dataset import REJECT
    if REJECT not in classes:
        return {}
    r = list(classes).index(REJECT)
    real = np.delete(cm, r, axis=0)
    out = {"rejected": float(real[:, r].sum() / max(real.sum(), 1)), "reject_n": int(cm[r].sum())}
    if cm[r].sum():
        out["reject_recall"] = float(cm[r, r] / cm[r].sum())
        out["reject_precision"] = float(cm[r, r] / max(cm[:, r].sum(), 1))
    return out


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (strings, or lists of words): insertions,
    deletions and substitutions, each costing 1 (rapidfuzz's, in C++)."""
    from rapidfuzz.distance import Levenshtein
    return int(Levenshtein.distance(a, b))


def calibration_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = 15):
    """Reliability of confidences: (mean confidence, accuracy, count) per equal-width bin."""
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    conf = np.bincount(which, confidence, minlength=bins) / np.maximum(count, 1)
    acc = np.bincount(which, correct, minlength=bins) / np.maximum(count, 1)
    return conf, acc, count


def expected_calibration_error(confidence, correct, bins: int = 15) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    conf, acc, count = calibration_bins(confidence, correct, bins)
    return float(np.sum(count * np.abs(conf - acc)) / max(count.sum(), 1))


def aligned_correct(text: str, truth: str) -> np.ndarray:
    """Per character of `text` (spaces and line breaks excluded), whether the edit-distance
    alignment to `truth` matches it to the same character (case folded)."""
    from rapidfuzz.distance import Levenshtein
    a, b = text.upper(), truth.upper()
    ok = np.zeros(len(a), bool)
    ops = Levenshtein.opcodes(a, b)
    for tag, i0, i1, j0, j1 in ops:
        if tag == "equal":
            ok[i0:i1] = True
    keep = np.array([not c.isspace() for c in a], bool)
    return ok[keep]


def psnr(reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(range^2 / MSE)."""
    mse = float(np.mean((np.asarray(reference, np.float64) - estimate) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)


def psnr_per_image(reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0
                   ) -> np.ndarray:
    """PSNR of each image in dB, (N, ...) -> (N,): 10 log10(range^2 / MSE_i) with MSE_i over
    that image's pixels, i.e. skimage.metrics.peak_signal_noise_ratio of each pair, for the
    whole batch at once. A perfect reconstruction is inf."""
    ref = np.asarray(reference, np.float64)
    est = np.asarray(estimate, np.float64).reshape(ref.shape)
    mse = np.mean((ref - est) ** 2, axis=tuple(range(1, ref.ndim)))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range ** 2 / mse)


def reconstruction_scores(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """Mean per-image PSNR (dB, data range 1), MSE per pixel and n of reconstructions."""
    reference = np.asarray(reference, np.float64)
    estimate = np.asarray(estimate, np.float64).reshape(reference.shape)
    return {"psnr": float(np.mean(psnr_per_image(reference, estimate))),
            "mse": float(np.mean((reference - estimate) ** 2)), "n": int(len(reference))}


def pca_fit(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean (D,) and top-k principal directions (k, D) of images x (N, ...).

    The directions are the right singular vectors of the centred data, taken from the SVD of
    its D x D scatter matrix (the same vectors, far cheaper when N >> D)."""
    from ocrkit.errors import OcrkitError
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    if not 1 <= k <= min(flat.shape):
        raise OcrkitError(f"PCA with {k} components needs at least {k} samples of at least "
                          f"{k} pixels (got {flat.shape[0]} of {flat.shape[1]})")
    mean = flat.mean(axis=0)
    centred = flat - mean
    _, _, vt = np.linalg.svd(centred.T @ centred)
    return mean, vt[:k]


def pca_reconstruct(x: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Project images x (N, ...) onto the PCA subspace and back, clipped to [0, 1]."""
    flat = np.asarray(x, np.float64).reshape(len(x), -1) - mean
    rec = (flat @ components.T) @ components + mean
    return np.clip(rec, 0.0, 1.0).reshape(np.shape(x)).astype(np.float32)


def pca_baseline(train_x: np.ndarray, x: np.ndarray, k: int, inputs: np.ndarray | None = None
                 ) -> dict:
    """The 2018 HW5 handout's baseline: PCA with k components fitted on `train_x`, scored as
    an autoencoder with a k-wide bottleneck would be: `inputs` (default x) projected and
    reconstructed, compared with x. Returns reconstruction_scores plus the reconstructions."""
    mean, components = pca_fit(train_x, k)
    rec = pca_reconstruct(x if inputs is None else inputs, mean, components)
    return {**reconstruction_scores(x, rec), "components": int(k), "reconstructions": rec}


def autoencoder_report(model, dataset, inputs: np.ndarray | None = None) -> dict:
    """Score an autoencoder Model on a Dataset: mean per-image PSNR (dB, data range 1) and MSE
    of its reconstructions against the dataset's images. `inputs` (e.g. corrupted copies of
    the images, for a denoising autoencoder) are what the model is given; default the images.
    """
    from ocrkit.errors import OcrkitError
    if len(dataset) == 0:
        raise OcrkitError(f"dataset {dataset.name} has no samples")
    x = dataset.x if inputs is None else inputs
    rec = np.concatenate([model.reconstruct(x[a:b])
                          for a, b in progress_chunks(len(x), 8192, "score", "sample")])
    return {**reconstruction_scores(dataset.x, rec), "reconstructions": rec}


def classifier_report(model, dataset, restrict: bool = False, merge_twins: bool = False,
                      merge_case: bool = False, no_reject: bool = False) -> dict:
    """Score a classifier Model on a Dataset whose classes it knows.

    With `restrict`, the model chooses only among the dataset's classes (a letters-only set
    cannot be misread as digits), as a character whitelist does in an OCR engine. With
    `no_reject`, it never chooses the reject class (REJECT), as the page pipeline never does:
    it reads every crop it keeps as one of the characters.
    Returns accuracy (0..1), n, per-class accuracy, the confusion matrix over the model's
    classes, and the predictions; `merged` holds the accuracy with TWINS (`merge_twins`),
    CASE_PAIRS (`merge_case`) or both counted as one class; `reject` holds reject_scores for a
    model with the reject class.
    """
    from ocrkit.errors import OcrkitError
    if getattr(model, "kind", "classifier") != "classifier":
        raise OcrkitError(f"{model.source or 'the model'} is an {model.kind}, not a classifier: "
                          "it has no classes to score")
    try:
        ds = dataset.relabel(model.classes)
    except ValueError:
        unknown = "".join(c for c in dataset.classes if c not in model.classes)
        raise OcrkitError(f"the dataset has classes the model does not know ({unknown}); "
                          f"the model knows {''.join(model.classes)}") from None
    if len(ds) == 0:
        raise OcrkitError(f"dataset {dataset.name} has no samples")
    proba = np.concatenate([model.predict_proba(ds.x[a:b])
                            for a, b in progress_chunks(len(ds), 8192, "score", "sample")])
    if restrict:
        allowed = np.isin(np.array(model.classes), np.array(dataset.classes))
        proba = np.where(allowed, proba, -1.0)
    if no_reject:
        from ocrkit.data.dataset import REJECT
        proba = np.where(np.array(model.classes) == REJECT, -1.0, proba)
    pred = np.argmax(proba, axis=1)
    cm = confusion_matrix(ds.y, pred, len(model.classes))
    per_class = per_class_accuracy(cm)
    present = [i for i, c in enumerate(model.classes) if cm[i].sum() > 0]
    merged = {}
    if merge_twins:
        merged["twins"] = merged_accuracy(cm, model.classes, TWINS)
    if merge_case:
        merged["case"] = merged_accuracy(cm, model.classes, CASE_PAIRS)
    if merge_twins and merge_case:
        merged["twins+case"] = merged_accuracy(cm, model.classes, TWINS + CASE_PAIRS)
    return {
        "accuracy": accuracy(ds.y, pred),
        "merged": merged,
        "reject": reject_scores(cm, model.classes),
        "n": int(len(ds)),
        "per_class": {model.classes[i]: float(per_class[i]) for i in present},
        "confusion": cm,
        "predictions": pred,
        "labels": ds.y,
    }


def normalise_text(text: str, case_sensitive: bool = False) -> str:
    """Text as OCR output is compared: each line's words joined by one space, empty lines
    dropped, and upper-cased unless `case_sensitive`."""
    lines = (" ".join((line if case_sensitive else line.upper()).split())
             for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def error_rates(text: str, truth: str, case_sensitive: bool = False) -> dict:
    """Character and word error rates of `text` against `truth` after normalise_text (case
    folded unless `case_sensitive`).

    CER = edit distance over characters (line breaks count as one character each) / len(truth);
    WER = edit distance over words / number of truth words.
    """
    text = normalise_text(text, case_sensitive)
    truth = normalise_text(truth, case_sensitive)
    char_errors = edit_distance(text, truth)
    word_errors = edit_distance(text.split(), truth.split())
    return {"cer": char_errors / max(len(truth), 1), "wer": word_errors / max(len(truth.split()), 1),
            "char_errors": char_errors, "chars": len(truth),
            "word_errors": word_errors, "words": len(truth.split())}
