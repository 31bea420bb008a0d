"""`ocrkit finetune`: adapt a trained classifier to a new dataset, optionally against a run
from scratch."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ocrkit.cli.common import (config_from_options, config_options, data_dir_option, note,
                               plots_option, progress_enabled, quiet_option, size_option)
from ocrkit.config import FinetuneConfig


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("dataset")
@config_options(FinetuneConfig)
@click.option("--train-per-class", type=click.IntRange(1, 10_000_000), default=None,
              help="Few-shot protocol: train on this many samples of each class and test on "
                   "all the rest, keeping the last epoch's weights (the test set is watched "
                   "for the curves, never used to choose) [default: the dataset's train/"
                   "valid/test split, best epoch by validation].")
@click.option("--compare-scratch", is_flag=True,
              help="Also train the same architecture from scratch on the same data and budget, "
                   "and plot both curves.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="finetuned.pkl",
              help="Model file to write.")
@plots_option("the curves")
@data_dir_option
@size_option
@quiet_option
def finetune(model, dataset, train_per_class, compare_scratch, out, plots_dir, data_dir, size,
             quiet, **options):
    """Fine-tune MODEL on DATASET and write the model file OUT.

    When DATASET's classes are all among MODEL's, the whole network carries over; otherwise
    (lower case, another alphabet, your own symbols) its output layer is replaced.

    \b
    Examples:
      ocrkit finetune models/default.pkl my_letters/ -o mine.pkl
      ocrkit finetune models/default.pkl out/choice-upper --train-per-class 20 \\
                      --compare-scratch --plots docs/img -o out/choice.pkl
    """
    from ocrkit import modelfile, plots
    from ocrkit.files import atomic_write
    from ocrkit.finetune import finetune as run_finetune
    from ocrkit.train import record_scores

    config = config_from_options(FinetuneConfig, options)      # checked once, here
    out = Path(out)
    modelfile.check_writable(out)
    base = modelfile.load(model)
    train_set, valid_set, test_set = _splits(dataset, train_per_class, config.seed, data_dir,
                                             size)
    note(f"{dataset}: {len(train_set)} train, {len(valid_set)} valid, {len(test_set)} test "
         f"samples, {len(train_set.classes)} classes", quiet)
    few_shot = train_per_class is not None
    if few_shot:            # curves on the test set; weights of the last epoch, not the best
        valid_set = test_set
    options = dict(keep_best=not few_shot, progress=progress_enabled(quiet),
                   record={"dataset": dataset, "size": size, "train_per_class": train_per_class})
    runs, results = {}, {}
    variants = [("fine-tuned", {})]
    if compare_scratch:
        variants.append(("from scratch", {"scratch": True}))
    for label, extra in variants:
        tuned, result = run_finetune(base, train_set, valid_set, config, desc=label, **extra,
                                     **options)
        if result.best_epoch == 0:
            raise click.ClickException("interrupted before the first epoch ended; nothing saved")
        test_accuracy = record_scores(tuned, result, valid_set, test_set, dataset,
                                      chosen_on_valid=not few_shot)
        path = out if label == "fine-tuned" else out.with_name(f"{out.stem}-scratch{out.suffix}")
        modelfile.save(tuned, path)
        runs[label] = result.history
        results[label] = {"model": str(path), "test_accuracy": test_accuracy,
                          "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
                          "replaced_output_layer": tuned.training.get("replaced_output_layer")}
        tested = "n/a" if test_accuracy is None else f"{test_accuracy:.4f}"
        click.echo(f"{label}: test accuracy {tested} after {len(result.history['train_loss'])} "
                   f"epochs ({result.seconds:.0f} s) -> {path}")
        if result.stopped == "interrupted":
            break
    plots_dir = Path(plots_dir)
    curves = plots.training_curves(runs, plots_dir / f"{out.stem}-curves.png",
                                   held_out="test" if few_shot else "valid")
    atomic_write(plots_dir / f"{out.stem}-runs.json", json.dumps(results, indent=2),
                 what="run summary")
    note(f"curves written to {curves}", quiet)


def _splits(dataset, train_per_class, seed, data_dir, size):
    """(train, valid, test) Datasets: the dataset's own splits, or n per class + the rest."""
    from ocrkit.data import load_dataset
    from ocrkit.data.dataset import per_class_split
    if train_per_class is None:
        return tuple(load_dataset(dataset, s, data_dir, size) for s in ("train", "valid", "test"))
    everything = load_dataset(dataset, "all", data_dir, size)
    first, rest = per_class_split(everything.y, train_per_class, seed)
    if not len(rest):
        raise click.ClickException(f"{dataset}: no class has more than {train_per_class} "
                                   "samples, so nothing is left to test on; lower "
                                   "--train-per-class")
    return everything.subset(first), everything.subset(rest[:0]), everything.subset(rest)


COMMANDS = [finetune]
