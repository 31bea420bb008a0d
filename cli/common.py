"""Options and helpers shared by several commands."""
from __future__ import annotations

import sys

import click

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Folder holding the named datasets (default: $OCRKIT_DATA, then ./data).")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars or messages.")
split_option = click.option(
    "--split", type=click.Choice(["train", "valid", "test", "all"]), default=None,
    help="Which part of the dataset [default: test for a named dataset, all for a path].")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                             default="text", help="Output format on stdout.")


def note(message: str, quiet: bool = False) -> None:
    """A message for the user, on stderr."""
    if not quiet:
        click.echo(message, err=True)


def progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()
size_option = click.option(
    "--size", type=click.IntRange(min=10), default=None,
    help="Samples of a generated dataset (synth) over all splits; train gets 80% "
         "[default: 50000].")
