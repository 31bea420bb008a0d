"""`ocrkit synth page` and `ocrkit synth chars`: procedural hand-printed pages and characters."""
from __future__ import annotations

import click

from ocrkit.cli import OcrkitGroup
from ocrkit.cli.common import note, quiet_option

seed_option = click.option("--seed", type=int, default=0,
                           help="Random seed: same seed, same image.")


@click.group(cls=OcrkitGroup)
def synth():
    """Draw synthetic hand-printed pages and characters."""


@synth.command()
@click.argument("text_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Image to write (.png, .jpg or .jpeg); <stem>.gt.txt is written beside it.")
@seed_option
@click.option("--char-height", type=float, default=None,
              help="Character height in pixels [default: drawn between 45 and 75].")
@click.option("--grey", is_flag=True, help="A grey image instead of colour.")
@quiet_option
def page(text_file, out, seed, char_height, grey, quiet):
    """Write TEXT_FILE as a photo of a hand-printed page, with its ground truth.

    Letters are upper-cased; spaces and newlines lay out the page; only A-Z and 0-9 can be
    written. TEXT_FILE may be - for stdin.

    \b
    Example:  ocrkit synth page note.txt -o page.jpg --seed 3
    """
    from ocrkit.data.pages import write_page
    try:
        text = text_file.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{text_file.name}: not a UTF-8 text file") from None
    image_path, gt_path = write_page(text, out, seed, char_height=char_height,
                                     colour=not grey)
    click.echo(str(image_path))
    note(f"ground truth written to {gt_path}", quiet)


@synth.command()
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Where to write the grid of samples (PNG).")
@click.option("--n", "n", type=click.IntRange(1, 2000), default=72,
              help="How many characters (every class in turn).")
@seed_option
@quiet_option
def chars(out, n, seed, quiet):
    """Draw a grid of N synthetic canonical characters, labelled.

    \b
    Example:  ocrkit synth chars -o grid.png --n 72
    """
    import numpy as np
    from ocrkit import plots
    from ocrkit.data.dataset import NIST36
    from ocrkit.data.synth import render_characters
    labels = np.arange(n) % len(NIST36)
    x = render_characters(labels, np.random.default_rng(seed))
    plots.sample_grid(x, out, [NIST36[i] for i in labels], cols=12)   # OcrkitError: one line
    click.echo(str(out))
    note(f"{n} synthetic characters drawn (seed {seed})", quiet)


COMMANDS = [synth]
