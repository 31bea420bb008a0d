"""Every matplotlib figure ocrkit draws. Each function writes one file (PNG unless the path
names another type), atomically, and returns its path.

Figures are matplotlib.figure.Figure objects drawn without pyplot, so ocrkit never chooses or
changes the backend: a notebook's (or $MPLBACKEND's) stays as the user set it, no window
opens, and headless machines need nothing set.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.backend_bases
import matplotlib.cm
import matplotlib.colors
import matplotlib.patches
import numpy as np
from matplotlib.figure import Figure

from ocrkit.errors import OcrkitError

DPI = 110


def writable(path) -> Path:
    """Check a figure's file type (by its extension; none means PNG) and create its folder.

    An OcrkitError (one line) when matplotlib cannot write that type or the folder cannot be
    made (a parent is a regular file, no permission).
    """
    path = Path(path)
    kind = path.suffix[1:].lower()
    types = matplotlib.backend_bases.FigureCanvasBase.get_supported_filetypes()
    if kind and kind not in types:
        raise OcrkitError(f"{path}: cannot write a .{kind} figure (use one of "
                          f"{', '.join('.' + t for t in sorted(types))})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot create its folder ({exc.strerror or exc})") from None
    return path


def _save(fig, path) -> Path:
    """Draw `fig` in memory, then write it atomically (ocrkit.files): a full disk or Ctrl-C
    never leaves half a figure where the last one was."""
    from io import BytesIO
    from ocrkit.files import atomic_write
    try:
        path = writable(path)
        image = BytesIO()
        fig.savefig(image, format=path.suffix[1:].lower() or "png", dpi=DPI,
                    bbox_inches="tight")
        atomic_write(path, image.getvalue(), what="figure")
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot write figure ({exc.strerror or exc})") from None
    except ValueError as exc:                       # e.g. a format matplotlib cannot write
        raise OcrkitError(f"{path}: cannot write figure ({exc})") from None
    return path


def training_curves(runs: dict[str, dict], path, held_out: str = "valid") -> Path:
    """Loss and accuracy per epoch, train (dashed) vs valid (solid), one colour per run.

    runs: {label: history} with history lists train_loss, valid_loss, train_acc, valid_acc;
    `held_out` names the solid curves ("test" when the watched set is the test set).
    """
    has_acc = any(any(v is not None for v in h.get("valid_acc", [])) for h in runs.values())
    fig = Figure(figsize=(11 if has_acc else 6, 4))
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = [("loss", axes[0, 0])] + ([("acc", axes[0, 1])] if has_acc else [])
    for i, (label, h) in enumerate(runs.items()):
        c = colours[i % len(colours)]
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        for key, ax in panels:
            ax.plot(epochs, h[f"train_{key}"], "--", color=c, label=f"{label} train")
            ax.plot(epochs, h[f"valid_{key}"], "-", color=c, label=f"{label} {held_out}")
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
    (the first `most` columns of a wider layer). A first convolution's kernels (k, k, 1, F)
    are shown as F k x k images."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 4:
        shape = w.shape[:2]
        w = w[:, :, 0].reshape(-1, w.shape[-1])
    if w.shape[1] > most:
        title = f"{title} (first {most} of {w.shape[1]} units)"
        w = w[:, :most]
    n = w.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(cols * 0.8, rows * 0.8 + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
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
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
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
    fig = Figure(figsize=(cols * 0.7, rows * 0.8 + 0.3))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(1 - images[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def reconstructions(columns: dict, path, labels=None, per_row: int = 2,
                    title: str = "") -> Path:
    """Characters beside what a model made of them, drawn dark on white.

    columns: {heading: images (N, 32, 32)} of the same N samples, e.g. {"original": x,
    "reconstruction": r}; each sample is a group of those images side by side, `per_row`
    groups a row (HW5: 5 classes x 2 samples). labels: one per sample (its class).
    """
    heads = list(columns)
    stacks = [np.asarray(columns[h]) for h in heads]
    n, k = len(stacks[0]), len(heads)
    per_row = max(1, min(per_row, n))
    rows = max(1, int(np.ceil(n / per_row)))
    fig = Figure(figsize=(per_row * k * 1.05, rows * 1.2 + 0.4))
    axes = fig.subplots(rows, per_row * k, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, g = divmod(i, per_row)
        for j, (head, images) in enumerate(zip(heads, stacks)):
            ax = axes[r, g * k + j]
            ax.imshow(1 - images[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            name = head if labels is None else f"{labels[i]} {head}"
            ax.set_title(name, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def reliability(curves: dict, path, bins: int = 15) -> Path:
    """Reliability diagram: accuracy against confidence per bin, one curve per set
    {name: (confidence, correct)}, with each set's ECE in its label."""
    from ocrkit.metrics import calibration_bins, expected_calibration_error
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for name, (conf, ok) in curves.items():
        c, a, n = calibration_bins(conf, ok, bins)
        use = n > 0
        ece = expected_calibration_error(conf, ok, bins)
        ax.plot(c[use], a[use], marker="o", markersize=3,
                label=f"{name} (ECE {ece:.3f}, n={len(conf):,})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def overlay(image: np.ndarray, page, path, full_size: bool = False) -> Path:
    """The page image with every character box drawn and labelled, coloured by confidence
    (red uncertain -> green sure), a colour bar beside it. The image may be decoded smaller
    than page.size (a huge JPEG): it is stretched over page.size, the pixels the boxes are in.

    By default the longer side is drawn about 1,300 pixels long; `full_size` draws the page
    at its own pixels (one image pixel a figure pixel), labels and lines scaled to match."""
    w, h = page.size
    inches = max(w, h) / DPI if full_size else 12.0     # the longer side of the page
    scale = inches / max(w, h)                          # inches per image pixel
    grow = inches / 12.0                                # labels and lines as at 12 inches
    bar = 1.0 * grow                                    # the colour bar's strip
    fig = Figure(figsize=(w * scale + bar, h * scale))
    fig_w = w * scale + bar
    ax = fig.add_axes((0, 0, w * scale / fig_w, 1))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1,
              extent=(0, w, h, 0))
    cmap = matplotlib.colormaps["RdYlGn"]
    for c in page.chars:
        x0, y0, x1, y1 = c.box
        colour = cmap(c.confidence)
        ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                                  edgecolor=colour, linewidth=1.2 * grow))
        ax.text(x0, y0 - 3 / (scale * DPI), c.label, color=colour, fontsize=9 * grow,
                fontweight="bold", va="bottom")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    cax = fig.add_axes(((w * scale + 0.25 * bar) / fig_w, 0.1, 0.2 * bar / fig_w, 0.8))
    fig.colorbar(matplotlib.cm.ScalarMappable(cmap=cmap), cax=cax, label="confidence")
    cax.tick_params(labelsize=10 * grow)
    cax.yaxis.label.set_size(10 * grow)
    return _save(fig, path)


def synthetic_pages(panels, path, cols: int = 2) -> Path:
    """Synthetic pages with their truth drawn over them: each handwritten character's box
    (red), printed ones (green), rules (dashed blue), the sheet's outline (yellow) and clutter
    (grey). panels: [(title, image, layout)] with layouts from render_page(return_layout=True).
    """
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 6, rows * 3.6), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (title, image, layout) in zip(axes.ravel(), panels):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        for rule in layout["rules"]:
            p = np.array(rule["points"])
            ax.plot(p[:, 0], p[:, 1], "--", color="tab:blue", linewidth=0.6)
        sheet = np.array(layout["sheet"] + layout["sheet"][:1])
        ax.plot(sheet[:, 0], sheet[:, 1], color="gold", linewidth=0.8)
        for item in layout["clutter"]:
            p = np.array(item["polygon"])
            ax.fill(p[:, 0], p[:, 1], fill=False, edgecolor="0.5", linewidth=0.8)
        for line in layout["lines"]:
            for word in line["words"]:
                for c in word["chars"]:
                    x0, y0, x1, y1 = c["box"]
                    ax.add_patch(matplotlib.patches.Rectangle(
                        (x0, y0), x1 - x0, y1 - y0, fill=False, linewidth=0.6,
                        edgecolor="tab:green" if word["printed"] else "tab:red"))
        ax.set_xlim(0, layout["width"])
        ax.set_ylim(layout["height"], 0)
        ax.set_title(title, fontsize=9)
    return _save(fig, path)
