"""`ocrkit autoencode`: train an autoencoder (score it against PCA), or show what one makes of
new characters."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ocrkit.cli.common import (config_from_options, config_options, data_dir_option,
                               format_option, note, plots_option, progress_enabled,
                               quiet_option, resume_option, size_option, split_option)
from ocrkit.cli.train import _hidden
from ocrkit.config import AUTOENCODER_ACTIVATION, AUTOENCODER_HIDDEN, AutoencodeConfig

ACTIVATIONS = ("relu", "sigmoid", "tanh", "identity")


def _activations(ctx, param, value):
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in ACTIVATIONS]
    if not names or bad:
        raise click.BadParameter(f"{value!r}: give one of {', '.join(ACTIVATIONS)}, or one "
                                 "per hidden layer separated by commas")
    return names


@click.command()
@click.argument("dataset", required=False)
@click.option("--hidden", default=",".join(map(str, AUTOENCODER_HIDDEN)), callback=_hidden,
              help="Hidden layer sizes, comma-separated (HW5: 32,32,32).")
@click.option("--activation", default=AUTOENCODER_ACTIVATION, callback=_activations,
              help="Hidden-layer activation, or one per layer (relu,relu,tanh); the output "
                   "layer is sigmoid.")
@config_options(AutoencodeConfig)
@click.option("--classes", default=None,
              help="Classes the reconstruction figure shows, 2 samples each, e.g. AB12Z "
                   "[default: 5 spread over the dataset's classes].")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Model file to write [default: autoencoder.pkl]; with --reconstruct, the "
                   "figure [default: reconstruction.png].")
@plots_option("the loss curve and the reconstruction figure")
@resume_option
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="With --reconstruct: the autoencoder model file to use.")
@click.option("--reconstruct", "source", default=None,
              help="Reconstruct this image file of one character, or dataset (name or path), "
                   "with --model instead of training.")
@split_option
@data_dir_option
@size_option
@format_option
@quiet_option
def autoencode(dataset, hidden, activation, classes, out, plots_dir, resume, model_path,
               source, split, data_dir, size, fmt, quiet, **options):
    """Train an autoencoder on DATASET and write the model file OUT, its loss curve and a
    figure of originals beside reconstructions; print the validation PSNR next to that of PCA
    with as many components as the bottleneck (fitted on the train split).

    The default network is HW5's 1024-32-32-32-1024 (ReLU, sigmoid output); the loss is the
    squared error against the input itself (with --noise, against the clean input).

    \b
    Examples:
      ocrkit autoencode emnist -o models/autoencoder.pkl
      ocrkit autoencode emnist --noise 0.2 -o dae.pkl          # denoising
      ocrkit autoencode --model models/autoencoder.pkl --reconstruct letter.png -o out.png
      ocrkit autoencode --model models/autoencoder.pkl --reconstruct emnist --classes AB12Z
    """
    if source is not None or model_path is not None:
        if source is None or model_path is None:
            raise click.UsageError("--model and --reconstruct go together")
        if dataset is not None:
            raise click.UsageError("give either DATASET (to train) or --model with "
                                   "--reconstruct, not both")
        _reconstruct(model_path, source, split, data_dir, size, classes, out, fmt, quiet)
        return
    if dataset is None:
        raise click.UsageError("give a DATASET to train on, or --model and --reconstruct")
    config = config_from_options(AutoencodeConfig, options)    # checked once, here
    _train(dataset, hidden, activation, config, classes, Path(out or "autoencoder.pkl"),
           Path(plots_dir), resume, data_dir, size, fmt, quiet)


def _train(dataset, hidden, activation, config, classes, out, plots_dir, resume, data_dir, size,
           fmt, quiet):
    from ocrkit import modelfile, plots
    from ocrkit.autoencode import (autoencoder_specs, pick_classes, sample_indices,
                                   validation_scores)
    from ocrkit.data import load_dataset
    from ocrkit.train import checkpoint_path, train_model

    modelfile.check_writable(out)
    train_set = load_dataset(dataset, "train", data_dir, size)
    valid_set = load_dataset(dataset, "valid", data_dir, size)
    shown = pick_classes(train_set.classes, classes)        # a bad --classes fails before training
    note(f"{dataset}: {len(train_set)} train, {len(valid_set)} valid samples", quiet)
    n_pixels = int(train_set.x[0].size)
    if not len(valid_set) or min(hidden) > min(len(train_set), n_pixels):   # before training
        raise click.ClickException(
            f"{dataset}: {len(train_set)} training and {len(valid_set)} validation samples of "
            f"{n_pixels} pixels; the scores need a validation sample and the PCA baseline "
            f"{min(hidden)} components (the bottleneck), at most the training samples and the "
            "pixels")
    specs = autoencoder_specs(hidden, activation, n_pixels)
    ckpt = checkpoint_path(out)
    model, result = train_model(
        specs, train_set, valid_set, config, checkpoint_to=ckpt, resume=resume,
        progress=progress_enabled(quiet), desc="autoencoder",
        record={"dataset": dataset, "size": size, "hidden": hidden, "activation": activation})
    if result.best_epoch == 0:
        raise click.ClickException("interrupted before the first epoch ended; nothing saved")

    noise = config.noise
    report = validation_scores(model, train_set, valid_set, noise, config.seed)
    scores = report["scores"]
    model.scores = {"dataset": dataset, **scores}
    modelfile.save(model, out)
    if result.stopped != "interrupted":         # an interrupted run can go on with --resume
        ckpt.unlink(missing_ok=True)

    curves = plots.training_curves({"autoencoder": result.history},
                                   plots_dir / f"{out.stem}-curves.png")
    idx = sample_indices(valid_set.y, shown)
    columns = {"original": valid_set.x[idx]}
    k, title = scores["pca_components"], f"{dataset} validation"
    net_psnr, pca_psnr = scores["valid_psnr"], scores["pca_valid_psnr"]
    if noise:       # show what the model was made for: cleaning up noisy characters
        columns["noisy"] = report["inputs"][idx]
        title += f", {noise:g} salt and pepper"
        net_psnr, pca_psnr = scores["denoised_valid_psnr"], scores["pca_denoised_valid_psnr"]
    columns["network"] = report["network"][idx]
    columns["PCA"] = report["pca"][idx]
    figure = plots.reconstructions(
        columns, plots_dir / f"{out.stem}-reconstructions.png",
        labels=[valid_set.classes[c] for c in valid_set.y[idx]],
        title=f"{title}: network {net_psnr:.2f} dB, PCA-{k} {pca_psnr:.2f} dB")
    note(f"plots written to {plots_dir}/ ({curves.name}, {figure.name})", quiet)

    if fmt == "json":
        click.echo(json.dumps({"model": str(out), "dataset": dataset,
                               "best_epoch": result.best_epoch, "stopped": result.stopped,
                               "seconds": round(result.seconds, 1), **scores}, indent=2))
    else:
        click.echo(f"valid PSNR {scores['valid_psnr']:.2f} dB (epoch {result.best_epoch}) vs "
                   f"PCA with {k} components {scores['pca_valid_psnr']:.2f} dB "
                   f"({scores['valid_psnr'] - scores['pca_valid_psnr']:+.2f} dB) on "
                   f"{scores['n']} samples -> {out}")
        if noise:
            click.echo(f"denoising ({noise:g} salt and pepper): noisy input "
                       f"{scores['noisy_input_psnr']:.2f} dB -> network {net_psnr:.2f} dB, "
                       f"PCA {pca_psnr:.2f} dB")
    if result.stopped == "interrupted":
        note(f"interrupted: the best model so far (epoch {result.best_epoch}) is saved to "
             f"{out}; continue the run with --resume (from {ckpt})", quiet)
        raise SystemExit(130)


def _reconstruct(model_path, source, split, data_dir, size, classes, out, fmt, quiet):
    import numpy as np

    from ocrkit import modelfile, plots
    from ocrkit.autoencode import load_characters, pick_classes, sample_indices
    from ocrkit.metrics import autoencoder_report

    model = modelfile.load(model_path)
    if model.kind != "autoencoder":       # before loading data: the mistake is the model
        raise click.ClickException(f"{model_path} is a {model.kind}, not an autoencoder "
                                   "(train one with 'ocrkit autoencode')")
    ds = load_characters(source, split, data_dir, size)
    report = autoencoder_report(model, ds)
    labels = None                           # one image file: its name is in the title
    if ds.info.get("split") == "image":
        idx = [0]
    else:
        idx = sample_indices(ds.y, pick_classes(ds.classes, classes))
        if len(idx) == 0:                   # none of those classes here: the first few
            idx = np.arange(min(len(ds), 10))
        labels = [ds.classes[c] for c in ds.y[idx]]
    rec = report["reconstructions"]
    out = Path(out or "reconstruction.png")
    try:
        plots.reconstructions({"original": ds.x[idx], "reconstruction": rec[idx]}, out,
                              labels=labels, title=f"{Path(model_path).name} on {ds.name}: "
                                    f"{report['psnr']:.2f} dB")
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write figure ({exc.strerror or exc})")
    if fmt == "json":
        click.echo(json.dumps({"model": str(model_path), "source": source,
                               "split": ds.info.get("split"), "psnr": report["psnr"],
                               "mse": report["mse"], "n": report["n"], "figure": str(out)},
                              indent=2))
    else:
        click.echo(f"PSNR {report['psnr']:.2f} dB, MSE {report['mse']:.5f} on {report['n']} "
                   f"character{'s' if report['n'] != 1 else ''} ({source}) -> {out}")


COMMANDS = [autoencode]
