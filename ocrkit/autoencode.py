"""The autoencoder workflow around the shared pieces: its architecture, the samples a figure
shows, its validation scores, and the characters `--reconstruct` is given.

Training is `train.train_model(specs, train, valid, AutoencodeConfig(...))` (the one Trainer,
target = input; ocrkit.config), scoring `metrics.autoencoder_report` and
`metrics.pca_baseline`, the figure `plots.reconstructions`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrkit.config import AUTOENCODER_ACTIVATION, AUTOENCODER_HIDDEN
from ocrkit.data import Dataset, load_dataset
from ocrkit.errors import OcrkitError

#: The HW5 (2018) autoencoder: 1024-32-32-32-1024, ReLU hidden layers, sigmoid output.
HW5_HIDDEN = AUTOENCODER_HIDDEN
DATASET_SUFFIXES = (".mat", ".gz")


def autoencoder_specs(hidden, activations=AUTOENCODER_ACTIVATION, n_pixels: int = 1024,
                      output: str = "sigmoid") -> list[dict]:
    """flatten -> dense(h, activation) per hidden size -> dense(n_pixels, output).

    `activations`: one name for every hidden layer, or a sequence with one per layer."""
    from ocrkit.engine.specs import mlp_specs
    hidden = list(hidden)
    if not hidden:
        raise OcrkitError("an autoencoder needs at least one hidden layer")
    if not isinstance(activations, str) and len(activations) == 1:
        activations = activations[0]
    try:
        return mlp_specs(hidden, activations, n_pixels, output)
    except ValueError as exc:
        raise OcrkitError(str(exc)) from None


def bottleneck(specs: list[dict]) -> int:
    """The narrowest hidden layer of an autoencoder's specs: the code size PCA is given."""
    units = [int(s["units"]) for s in specs if s.get("type") == "dense"][:-1]
    return min(units)


def pick_classes(classes, wanted: str | None = None, n: int = 5) -> list[int]:
    """Indices of the classes a reconstruction figure shows: the characters of `wanted`
    ("AB12Z"), or `n` spread evenly over `classes` (A H O V 2 of the 36)."""
    classes = list(classes)
    if wanted:
        wanted = "".join(c if c in classes else c.upper() for c in wanted)   # a -> A
        unknown = [c for c in wanted if c not in classes]
        if unknown:
            raise OcrkitError(f"--classes: {''.join(unknown)} not in the dataset's classes "
                              f"{''.join(classes)}")
        return [classes.index(c) for c in dict.fromkeys(wanted)]
    step = max(len(classes) / n, 1)
    return sorted({int(i * step) for i in range(min(n, len(classes)))})


def sample_indices(y: np.ndarray, class_indices, per_class: int = 2) -> np.ndarray:
    """The first `per_class` samples of each class, class by class (absent classes skipped)."""
    picks = [np.flatnonzero(np.asarray(y) == c)[:per_class] for c in class_indices]
    return np.concatenate(picks) if picks else np.zeros(0, np.int64)


def load_characters(source: str, split: str | None = None, data_dir=None,
                    size: int | None = None) -> Dataset:
    """What `--reconstruct` was given, as a Dataset: an image file of one character (through
    the shared character normaliser; its one class is the file name), or a dataset name or
    path (`split` default: test for a name, all for a path)."""
    from ocrkit.data import default_split
    path = Path(source)
    is_dataset = (path.is_dir() or path.suffix.lower() in DATASET_SUFFIXES
                  or "idx3" in path.name or not path.exists())
    if is_dataset:
        return load_dataset(source, split or default_split(source), data_dir, size)
    from ocrkit.data.normalize import normalise_character
    from ocrkit.page import load_image
    x = normalise_character(load_image(path))[None]
    if not x.any():
        raise OcrkitError(f"{path}: no character found (a blank image)")
    return Dataset(x, np.zeros(1, np.int64), (path.name,), path.name, {"split": "image"})


def validation_scores(model, train: Dataset, valid: Dataset, noise: float = 0.0,
                      seed: int = 0) -> dict:
    """What `ocrkit autoencode` prints and stores after training: the mean PSNR and MSE of the
    model's reconstructions of the validation images, and the same for PCA with as many
    components as the bottleneck, fitted on `train` (the 2018 HW5 handout's baseline).

    With `noise`, also the denoising scores: validation inputs corrupted as in training (same
    seed), the reconstructions compared with the clean images, and the noisy input itself.
    Returns {"scores": plain dict for the model file, "inputs", "network", "pca"}; the last
    three are the arrays a figure shows (noisy inputs and their reconstructions if `noise`).
    """
    from ocrkit.data.augment import SaltAndPepper
    from ocrkit.metrics import autoencoder_report, pca_baseline, reconstruction_scores
    k = bottleneck(model.network.specs)
    net = autoencoder_report(model, valid)
    pca = pca_baseline(train.x, valid.x, k)
    scores = {"valid_psnr": net["psnr"], "valid_mse": net["mse"], "pca_valid_psnr": pca["psnr"],
              "pca_valid_mse": pca["mse"], "pca_components": k, "n": net["n"]}
    inputs = valid.x
    if noise:
        inputs = SaltAndPepper(noise).validation(valid.x, seed)
        net = autoencoder_report(model, valid, inputs)
        pca = pca_baseline(train.x, valid.x, k, inputs)
        scores.update(noise=noise,
                      noisy_input_psnr=reconstruction_scores(valid.x, inputs)["psnr"],
                      denoised_valid_psnr=net["psnr"], pca_denoised_valid_psnr=pca["psnr"])
    return {"scores": scores, "inputs": inputs, "network": net["reconstructions"],
            "pca": pca["reconstructions"]}
