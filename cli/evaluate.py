"""`ocrkit evaluate` and `ocrkit confusion`: score a model on a dataset."""
from __future__ import annotations

import json

import click

from ocrkit.cli.common import (data_dir_option, format_option, note, quiet_option,
                               reject_option, size_option, split_option)


restrict_option = click.option(
    "--restrict", is_flag=True,
    help="Let the model choose only among DATASET's classes (e.g. no digits for a "
         "letters-only set: O cannot become 0).")


no_reject_option = click.option(
    "--no-reject", is_flag=True,
    help="Never choose the reject class '~' (as a page never does: it reads each crop it "
         "keeps as a character), e.g. for crops the page pipeline cut.")


merge_options = [
    click.option("--merge-twins", is_flag=True,
                 help="Also give the accuracy with the digit/letter twins O/0, I/1/l, S/5, "
                      "Z/2 counted as one class (a page settles them by context)."),
    click.option("--merge-case", is_flag=True,
                 help="Also give the accuracy with the case pairs that differ only in size "
                      "(c k m o p s u v w x y z and their capitals) counted as one class (a "
                      "page settles them from the line's geometry)."),
]


def _load(model_path, dataset, split, data_dir, size, reject=None):
    from ocrkit import modelfile
    from ocrkit.data import default_split, load_dataset
    model = modelfile.load(model_path)
    split = split or default_split(dataset)
    ds = load_dataset(dataset, split, data_dir, size)
    if reject:
        from ocrkit.data.rejects import split_with_rejects
        ds = split_with_rejects(ds, reject, split)
    return model, ds, split


def _merged_lines(report) -> list[str]:
    """The text lines of a report's merged accuracies and reject scores."""
    from ocrkit.data.dataset import REJECT
    from ocrkit.metrics import CASE_PAIRS, TWINS
    names = {"twins": "twins merged (" + " ".join("/".join(t) for t in TWINS) + ")",
             "case": "case pairs merged (" + " ".join("/".join(p) for p in CASE_PAIRS) + ")",
             "twins+case": "twins and case pairs merged"}
    lines = [f"accuracy {acc:.4f} with {names[k]}" for k, acc in report["merged"].items()]
    rej = report["reject"]
    if rej:
        line = f"rejected ({REJECT}) {rej['rejected']:.4f} of the real characters"
        if "reject_recall" in rej:
            line += (f"; reject class on {rej['reject_n']} rejects: recall "
                     f"{rej['reject_recall']:.4f}, precision {rej['reject_precision']:.4f}")
        lines.append(line)
    return lines


def _with(options):
    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f
    return apply


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("dataset")
@split_option
@restrict_option
@no_reject_option
@_with(merge_options)
@reject_option
@data_dir_option
@size_option
@format_option
@quiet_option
def evaluate(model, dataset, split, restrict, no_reject, merge_twins, merge_case, reject,
             data_dir, size, fmt, quiet):
    """Score MODEL on DATASET: accuracy, n, per-class accuracy (an autoencoder: mean PSNR
    in dB over the images, data range 1, and MSE per pixel).

    DATASET is a name (emnist, emnist62, nist36, synth, synth62; a+b mixes) or a path (.mat,
    EMNIST .gz, folder of class folders). For a model with the reject class '~', the share of
    real characters it rejects is given too; --reject adds that split's generated rejects (the
    ones `train --reject` held out) and scores the class's precision and recall.

    \b
    Example:  ocrkit evaluate models/mlp.pkl emnist --split test --format json
              ocrkit evaluate models/default.pkl emnist62 --merge-twins --merge-case
              ocrkit evaluate models/default.pkl out/crops --no-reject --merge-twins
    """
    from ocrkit.metrics import autoencoder_report, classifier_report
    m, ds, split = _load(model, dataset, split, data_dir, size, reject)
    if m.kind == "autoencoder":
        report = autoencoder_report(m, ds)
        if fmt == "json":
            out = {k: report[k] for k in ("psnr", "mse", "n")}
            out.update(model=str(model), dataset=dataset, split=split)
            click.echo(json.dumps(out, indent=2))
        else:
            click.echo(f"psnr {report['psnr']:.2f} dB (mse {report['mse']:.5f}) on "
                       f"{report['n']} samples ({dataset}, {split})")
        return
    report = classifier_report(m, ds, restrict, merge_twins, merge_case, no_reject)
    if fmt == "json":
        out = {k: report[k] for k in ("accuracy", "n", "per_class")}
        out.update({f"accuracy_{k.replace('+', '_')}_merged": v
                    for k, v in report["merged"].items()})
        out.update(report["reject"])
        out.update(model=str(model), dataset=dataset, split=split, restricted=restrict,
                   no_reject=no_reject, reject_share=reject)
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"accuracy {report['accuracy']:.4f} on {report['n']} samples "
               f"({dataset}, {split}{_restricted(restrict, ds)}{_no_reject(no_reject)})")
    for line in _merged_lines(report):
        click.echo(line)
    click.echo("per class: " + "  ".join(f"{c} {a:.2f}" for c, a in report["per_class"].items()))


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("dataset")
@split_option
@restrict_option
@no_reject_option
@_with(merge_options)
@reject_option
@data_dir_option
@size_option
@click.option("--out", "out", type=click.Path(dir_okay=False), default="confusion.png",
              help="Where to write the confusion-matrix figure.")
@click.option("--top", type=click.IntRange(1, 100_000), default=10,
              help="How many confused pairs.")
@quiet_option
def confusion(model, dataset, split, restrict, no_reject, merge_twins, merge_case, reject,
              data_dir, size, out, top, quiet):
    """Draw MODEL's confusion matrix on DATASET and print the most confused pairs.

    Each line reads `TRUE -> PREDICTED  COUNT`.

    \b
    Example:  ocrkit confusion models/mlp.pkl emnist --out confusion.png --top 10
    """
    from ocrkit import plots
    from ocrkit.metrics import classifier_report, top_confusions
    m, ds, split = _load(model, dataset, split, data_dir, size, reject)
    report = classifier_report(m, ds, restrict, merge_twins, merge_case, no_reject)
    click.echo(f"accuracy {report['accuracy']:.4f} on {report['n']} samples ({dataset}, {split}"
               f"{_restricted(restrict, ds)}{_no_reject(no_reject)})")
    for line in _merged_lines(report):
        click.echo(line)
    for true, pred, count in top_confusions(report["confusion"], m.classes, top):
        click.echo(f"{true} -> {pred}  {count}")
    try:
        plots.confusion(report["confusion"], m.classes, out,
                        title=f"{m.source or model} on {dataset} ({split})")
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write figure ({exc.strerror or exc})")
    note(f"confusion matrix written to {out}", quiet)


def _restricted(restrict, ds) -> str:
    return f", choosing among its {len(ds.classes)} classes" if restrict else ""


def _no_reject(no_reject) -> str:
    return ", never the reject class" if no_reject else ""


COMMANDS = [evaluate, confusion]
