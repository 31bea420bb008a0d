"""`ocrkit train`: train a classifier on a dataset and write a model file and plots."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from ocrkit.cli.common import (config_from_options, config_options, data_dir_option, note,
                               plots_option, progress_enabled, quiet_option, reject_option,
                               resume_option, size_option)
from ocrkit.config import DEFAULT_ACTIVATION, DEFAULT_HIDDEN, TrainConfig


def _hidden(ctx, param, value):
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of sizes, e.g. 512,256")
    if any(s < 1 for s in sizes):
        raise click.BadParameter("layer sizes must be positive")
    from ocrkit.engine.network import plan
    from ocrkit.engine.specs import mlp_specs
    try:                    # the network on a 32x32 character must be within ocrkit's limits
        plan(mlp_specs(sizes, "relu", 62), (32, 32))
    except ValueError as exc:
        raise click.BadParameter(str(exc))
    return sizes


def _arch(ctx, param, value):
    """Check an --arch string before any data is loaded."""
    if value is not None:
        from ocrkit.engine import Network
        from ocrkit.engine.specs import arch_specs
        try:                # parsed and built on a 32x32 character: sizes must fit too
            Network(arch_specs(value, 2), (32, 32))
        except (ValueError, ArithmeticError, MemoryError) as exc:
            raise click.BadParameter(str(exc))
    return value


@click.command()
@click.argument("dataset")
@click.option("--hidden", default=",".join(map(str, DEFAULT_HIDDEN)), callback=_hidden,
              help="Hidden layer sizes, comma-separated (HW5: 64).")
@click.option("--arch", default=None, callback=_arch,
              help="Network as a short string instead of --hidden/--activation, e.g. "
              "conv32-conv32-pool-conv64-pool-fc128 (tokens: convN[kK][s2][v][bn], pool[P], "
              "fcN[bn], drop[P]).")
@click.option("--activation", type=click.Choice(["sigmoid", "tanh", "relu"]),
              default=DEFAULT_ACTIVATION, help="Hidden-layer activation.")
@config_options(TrainConfig, multiple=("lr",), more_help={
    "lr": "Give several to train one run each and plot them together."})
@reject_option
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="model.pkl",
              help="Model file to write.")
@plots_option("the curves and weight figures")
@resume_option
@data_dir_option
@size_option
@quiet_option
def train(dataset, hidden, arch, activation, reject, out, plots_dir, resume, data_dir, size,
          quiet, **options):
    """Train an MLP (or with --arch a CNN) on DATASET and write the model file OUT.

    DATASET is a name (emnist, emnist62, nist36, synth, synth62; emnist+synth mixes) or a
    path (.mat, EMNIST .gz, folder of class folders); a path is split 80/10/10 into
    train/valid/test. --reject adds the reject class '~' to every split. The best weights by
    validation accuracy are kept; a checkpoint OUT.ckpt is written every epoch and removed
    when the run ends. Ctrl-C stops and saves the best model so far, keeping the checkpoint
    for --resume. A run that diverges (the loss NaN, or 100 times its start) stops at once
    and writes no model.

    \b
    Examples:
      ocrkit train emnist --epochs 20 -o models/mlp.pkl
      ocrkit train emnist --arch conv32-pool-conv64-pool-fc128 --epochs 12 -o cnn.pkl
      ocrkit train nist36 --hidden 64 --activation sigmoid --optimizer momentum \\
                          --lr 0.01 --lr 0.1 --lr 0.001 --epochs 50   # HW5 x10 / x0.1
    """
    from ocrkit import modelfile, plots
    from ocrkit.data import load_dataset
    from ocrkit.files import atomic_write
    from ocrkit.train import (TrainingDiverged, arch_specs, checkpoint_path, mlp_specs,
                              record_scores, train_model)

    lr = options["lr"]
    config = config_from_options(TrainConfig, options, lr=lr[0])     # checked once, here
    if resume and len(lr) > 1:
        raise click.UsageError("--resume continues one run; give a single --lr")
    outs = [Path(out)] if len(lr) == 1 else [_with_lr(Path(out), r) for r in lr]
    for o in outs:
        modelfile.check_writable(o)
    splits = {s: load_dataset(dataset, s, data_dir, size) for s in ("train", "valid", "test")}
    if reject:
        from ocrkit.data.rejects import split_with_rejects
        note(f"generating rejects ({reject:.0%} of each split)", quiet)
        splits = {s: split_with_rejects(ds, reject, s) for s, ds in splits.items()}
    train_set, valid_set, test_set = splits["train"], splits["valid"], splits["test"]
    note(f"{dataset}: {len(train_set)} train, {len(valid_set)} valid, {len(test_set)} test "
         f"samples, {len(train_set.classes)} classes", quiet)
    _note_gaps(train_set, valid_set, test_set, quiet)
    if arch:
        specs = arch_specs(arch, len(train_set.classes))
    else:
        specs = mlp_specs(hidden, activation, len(train_set.classes))
    plots_dir = Path(plots_dir)
    runs, results, diverged = {}, [], []
    for rate, path in zip(lr, outs):
        ckpt = checkpoint_path(path)
        try:
            model, result = train_model(
                specs, train_set, valid_set, replace(config, lr=rate), checkpoint_to=ckpt,
                resume=resume, progress=progress_enabled(quiet), desc=f"lr {rate:g}",
                record={"dataset": dataset, "size": size, "reject": reject,
                        **({"arch": arch} if arch else {"hidden": hidden,
                                                         "activation": activation})})
        except TrainingDiverged as exc:     # no model written: an existing one stays as it was
            if len(lr) == 1:
                raise TrainingDiverged(f"{exc}; nothing was written to {path}") from None
            note(f"lr {rate:g}: {exc}; nothing was written to {path}", quiet)
            diverged.append(rate)
            continue
        if result.best_epoch == 0:
            raise click.ClickException("interrupted before the first epoch ended; "
                                       "nothing saved")
        test_accuracy = record_scores(model, result, valid_set, test_set, dataset)
        modelfile.save(model, path)
        if result.stopped != "interrupted":     # an interrupted run can go on with --resume
            ckpt.unlink(missing_ok=True)
        runs[f"lr {rate:g}"] = result.history
        results.append({"lr": rate, "model": str(path), "best_epoch": result.best_epoch,
                        "stopped": result.stopped, "valid_accuracy": result.best_score,
                        "test_accuracy": test_accuracy, "seconds": round(result.seconds, 1)})
        scored = "valid" if len(valid_set) else "train (no validation samples)"
        tested = "n/a (no test samples)" if test_accuracy is None else f"{test_accuracy:.4f}"
        click.echo(f"lr {rate:g}: {scored} accuracy {result.best_score:.4f} (epoch "
                   f"{result.best_epoch}), test accuracy {tested} -> {path}")
        first = model.network.first_weights
        if first is not None and (first.shape[0] == 1024 or first.ndim == 4 and first.shape[2] == 1):
            plots.weight_grid(result.extra["initial_first_weights"],
                              plots_dir / f"{path.stem}-weights-initial.png",
                              "first-layer weights before training")
            plots.weight_grid(first, plots_dir / f"{path.stem}-weights-trained.png",
                              "first-layer weights after training")
        if result.stopped == "interrupted":
            note(f"interrupted: the best model so far (epoch {result.best_epoch}) is saved "
                 f"to {path}; continue the run with --resume (from {ckpt})", quiet)
            break
    failed = ", ".join(f"{r:g}" for r in diverged)
    if not results:
        raise click.ClickException(f"every run diverged (--lr {failed}); try lower rates")
    curves = plots.training_curves(runs, plots_dir / f"{Path(out).stem}-curves.png")
    note(f"plots written to {plots_dir}/ ({curves.name} and weight grids)", quiet)
    atomic_write(plots_dir / f"{Path(out).stem}-runs.json", json.dumps(results, indent=2),
                 what="run summary")
    if results[-1]["stopped"] == "interrupted":
        raise SystemExit(130)
    if diverged:
        raise click.ClickException(f"--lr {failed} diverged and wrote no model; the other "
                                   "runs are saved")


def _note_gaps(train_set, valid_set, test_set, quiet):
    """Say what a small or patchy dataset lacks, so its numbers are read for what they are."""
    import numpy as np
    skipped = train_set.info.get("skipped") or []
    if skipped:
        note(f"skipped {len(skipped)} unreadable image(s): {', '.join(skipped[:5])}"
             + (" ..." if len(skipped) > 5 else ""), quiet)
    seen = np.bincount(train_set.y, minlength=len(train_set.classes))
    empty = [c for c, n in zip(train_set.classes, seen) if n == 0]
    if empty:
        note(f"no training samples for class(es) {' '.join(empty)}", quiet)
    for name, part in (("validation", valid_set), ("test", test_set)):
        if not len(part):
            note(f"no {name} samples: the dataset is too small for a 10% {name} split", quiet)


def _with_lr(path: Path, rate: float) -> Path:
    return path.with_name(f"{path.stem}-lr{rate:g}{path.suffix}")


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="The committee's model file.")
def committee(models, out):
    """Join classifiers trained apart (other seeds, other augmentations) into one model file
    whose probabilities are their mean: a committee, more accurate than each of them, at the
    cost of reading every character once per model. They must share their classes.

    \b
    Example:
      ocrkit train emnist62 --seed 1 -o a.pkl && ocrkit train emnist62 --seed 2 -o b.pkl
      ocrkit committee a.pkl b.pkl -o committee.pkl && ocrkit evaluate committee.pkl emnist62
    """
    from ocrkit import modelfile
    modelfile.check_writable(out)
    joined = modelfile.committee([modelfile.load(m) for m in models])
    modelfile.save(joined, out)
    click.echo(f"{out}: a committee of {len(joined.networks)} networks")


COMMANDS = [train, committee]
