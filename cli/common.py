"""Options and helpers shared by several commands."""
from __future__ import annotations

import logging
import math
import sys

import click


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (FloatRange lets nan through: every
    comparison with it is False)."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


def seed_option(help: str = "Seed for initialisation and shuffling."):
    return click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, help=help)


MAX_EPOCHS = 100_000
MAX_BATCH = 65_536
epochs_range = click.IntRange(1, MAX_EPOCHS)
batch_range = click.IntRange(1, MAX_BATCH)
rate_range = FiniteFloatRange(min=0, min_open=True)

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Folder holding the named datasets (default: $OCRKIT_DATA, then ./data).")


def _verbosity(ctx, param, value):
    """-q/-v set the level of the "ocrkit" logger (progress lines, notes) for this command."""
    ctx.meta[f"ocrkit.{param.name}"] = value
    configure_logging(ctx.meta.get("ocrkit.quiet", False), ctx.meta.get("ocrkit.verbose", False))
    return value


def quiet_option(command):
    """-q/--quiet and -v/--verbose."""
    command = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                           callback=_verbosity,
                           help="More messages (why each failed page failed, in full).")(command)
    return click.option("-q", "--quiet", is_flag=True, callback=_verbosity,
                        help="No progress bars or messages.")(command)


class _EchoHandler(logging.Handler):
    """Log records as lines on the current stderr (click's, so tests capture them)."""

    def emit(self, record):
        click.echo(self.format(record), err=True)


def configure_logging(quiet: bool = False, verbose: bool = False) -> None:
    """The "ocrkit" logger on stderr: warnings only with quiet, everything with verbose,
    else progress lines and notes too."""
    logger = logging.getLogger("ocrkit")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
        logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


split_option = click.option(
    "--split", type=click.Choice(["train", "valid", "test", "all"]), default=None,
    help="Which part of the dataset [default: test for a named dataset, all for a path].")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                             default="text", help="Output format on stdout.")

# The training commands' shared options. The names mirror ocrkit.engine's OPTIMIZERS and
# SCHEDULES (a test keeps them equal): written out so that start-up imports no numpy.
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")
optimizer_option = click.option("--optimizer", type=click.Choice(OPTIMIZERS),
                                default="adam", help="sgd; momentum (0.9, as HW5); adam.")
schedule_option = click.option("--schedule", type=click.Choice(SCHEDULES), default="cosine",
                               help="Learning-rate schedule over the epochs (step: halve "
                                    "every 10).")
resume_option = click.option("--resume", is_flag=True,
                             help="Continue from OUT.ckpt, the last checkpoint.")


def plots_option(what: str):
    """--plots DIR, the folder a training command writes `what` into."""
    return click.option("--plots", "plots_dir", type=click.Path(file_okay=False),
                        default="plots", help=f"Folder for {what}.")


def note(message: str, quiet: bool = False) -> None:
    """A message for the user, on stderr."""
    if not quiet:
        click.echo(message, err=True)


def progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()
size_option = click.option(
    "--size", type=click.IntRange(10, 2_000_000), default=None,
    help="Samples of a generated dataset (synth, synth62) over all splits; train gets 80% "
         "[default: 50000].")
reject_option = click.option(
    "--reject", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
    help="Add the reject class '~' (not one character: touching pairs, parts, rule pieces, "
         "specks) as this share of the data, each split's rejects made from its own characters.")
