"""Every matplotlib figure ocrkit draws. Each function writes one PNG and returns its path."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def training_curves(runs: dict[str, dict], path) -> Path:
    """Loss and accuracy per epoch, train (dashed) vs valid (solid), one colour per run.

    runs: {label: history} with history lists train_loss, valid_loss, train_acc, valid_acc.
    """
    has_acc = any(any(v is not None for v in h.get("valid_acc", [])) for h in runs.values())
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(11 if has_acc else 6, 4),
                             squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = [("loss", axes[0, 0])] + ([("acc", axes[0, 1])] if has_acc else [])
    for i, (label, h) in enumerate(runs.items()):
        c = colours[i % len(colours)]
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        for key, ax in panels:
            ax.plot(epochs, h[f"train_{key}"], "--", color=c, label=f"{label} train")
            ax.plot(epochs, h[f"valid_{key}"], "-", color=c, label=f"{label} valid")
    for key, ax in panels:
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if key == "acc" else "loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0, 0].set_title("loss")
    if has_acc:
        axes[0, 1].set_title("accuracy")
    return _save(fig, path)


def weight_grid(weights: np.ndarray, path, title: str = "first-layer weights",
                shape=(32, 32), most: int = 100) -> Path:
    """Each column of `weights` (D, H) shown as a `shape` image, in a near-square grid
    (the first `most` columns of a wider layer)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape[1] > most:
        title = f"{title} (first {most} of {w.shape[1]} units)"
        w = w[:, :most]
    n = w.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            img = w[:, i].reshape(shape)
            lim = np.abs(img).max() or 1.0
            ax.imshow(img, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.suptitle(title)
    return _save(fig, path)


def confusion(cm: np.ndarray, classes, path, title: str = "confusion matrix") -> Path:
    """Row-normalised confusion matrix (true class down, predicted across), log colour scale."""
    cm = np.asarray(cm, dtype=np.float64)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    size = max(5.0, 0.22 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    shown = np.where(rates > 0, rates, np.nan)
    im = ax.imshow(shown, cmap="viridis", norm=matplotlib.colors.LogNorm(vmin=1e-3, vmax=1))
    ax.set_xticks(range(n))
    ax.set_xticklabels(classes, fontsize=7)
    ax.set_yticks(range(n))
    ax.set_yticklabels(classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    return _save(fig, path)


def sample_grid(images: np.ndarray, path, labels=None, title: str = "", cols: int = 12) -> Path:
    """Canonical characters (N, 32, 32), ink 1, drawn dark on white in a grid."""
    n = len(images)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.7, rows * 0.8 + 0.3), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(1 - images[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def overlay(image: np.ndarray, page, path) -> Path:
    """The page image with every character box drawn and labelled, coloured by confidence
    (red uncertain -> green sure)."""
    h, w = image.shape[:2]
    scale = 12 / max(h, w)
    fig, ax = plt.subplots(figsize=(w * scale + 1, h * scale))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    cmap = plt.get_cmap("RdYlGn")
    for c in page.chars:
        x0, y0, x1, y1 = c.box
        colour = cmap(c.confidence)
        ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                                  edgecolor=colour, linewidth=1.2))
        ax.text(x0, y0 - 3, c.label, color=colour, fontsize=9, fontweight="bold",
                va="bottom")
    ax.set_axis_off()
    fig.colorbar(matplotlib.cm.ScalarMappable(cmap=cmap), ax=ax, fraction=0.03,
                 label="confidence")
    return _save(fig, path)
