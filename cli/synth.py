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
              help="How many characters (every one of --chars in turn).")
@click.option("--chars", "alphabet", default="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
              show_default=True,
              help="Which characters to draw (0-9, A-Z, a-z), e.g. abcdefghijklmnopqrstuvwxyz.")
@seed_option
@quiet_option
def chars(out, n, alphabet, seed, quiet):
    """Draw a grid of N synthetic canonical characters, labelled.

    Each is scaled to its own 32x32 box, as in the synth and synth62 datasets (and EMNIST).

    \b
    Example:  ocrkit synth chars -o grid.png --n 72
              ocrkit synth chars -o lower.png --n 52 --chars abcdefghijklmnopqrstuvwxyz
    """
    import numpy as np
    from ocrkit import plots
    from ocrkit.data.synth import CLASSES, render_characters
    wrong = sorted(set(alphabet) - set(CLASSES))
    if not alphabet or wrong:
        raise click.BadParameter(f"no skeleton for {' '.join(map(repr, wrong))}; use 0-9, A-Z "
                                 "and a-z" if wrong else "give at least one character",
                                 param_hint="--chars")
    classes = tuple(alphabet)
    labels = np.arange(n) % len(classes)
    x = render_characters(labels, np.random.default_rng(seed), classes)
    plots.sample_grid(x, out, [classes[i] for i in labels], cols=12)   # OcrkitError: one line
    click.echo(str(out))
    note(f"{n} synthetic characters drawn (seed {seed})", quiet)


COMMANDS = [synth]
