"""`ocrkit synth page` and `ocrkit synth chars`: procedural hand-printed pages and characters."""
from __future__ import annotations

import click

from ocrkit.cli import OcrkitGroup
from ocrkit.cli.common import FiniteFloatRange, note, quiet_option
from ocrkit.cli.common import seed_option as _seed

seed_option = _seed("Random seed: same seed, same image.")


@click.group(cls=OcrkitGroup)
def synth():
    """Draw synthetic hand-printed pages and characters."""


@synth.command()
@click.argument("text_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Image to write (.png, .jpg or .jpeg); <stem>.gt.txt is written beside it.")
@seed_option
@click.option("--char-height", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="Character (cap) height in pixels [default: drawn between 45 and 75].")
@click.option("--grey", is_flag=True, help="A grey image instead of colour.")
@click.option("--case", type=click.Choice(["upper", "mixed"]), default="upper", show_default=True,
              help="upper: lower case is upper-cased; mixed: the text as written, lower case "
                   "at its true size on the baseline.")
@click.option("--ruled", is_flag=True,
              help="Notebook paper: the writing sits on printed rules.")
@click.option("--rule-gap", type=click.FloatRange(0.4, 5), default=None,
              help="Distance between rules in cap heights (with --ruled; below 1 the letters "
                   "span several rules) [default: drawn between 1.35 and 2.0].")
@click.option("--margin-line", is_flag=True, help="A red margin line left of the writing.")
@click.option("--touching", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Probability that two neighbouring letters of a word touch.")
@click.option("--clutter", is_flag=True,
              help="The sheet lies on a table, with its shadow and other things around it.")
@click.option("--holes", is_flag=True, help="Punch holes at the sheet's left edge.")
@click.option("--form", is_flag=True,
              help="A form: one printed box per character, a row of boxes per line.")
@click.option("--label", "labels", multiple=True, metavar="TEXT",
              help="A printed label left of a form's row, one per line of TEXT_FILE (repeat "
                   "the option); more labels than lines label empty rows.")
@click.option("--skew", type=click.FloatRange(-45, 45), default=0.0, show_default=True,
              help="Turn the whole sheet by this many degrees (counter-clockwise).")
@click.option("--drift", type=click.FloatRange(0, 20), default=0.0, show_default=True,
              help="Lines drift: each gets a slope (and bow) of its own, std in degrees.")
@click.option("--layout", "layout_json", is_flag=True,
              help="Also write <stem>.layout.json: every character's box, the lines, rules, "
                   "form boxes, sheet and clutter in image pixels.")
@quiet_option
def page(text_file, out, seed, char_height, grey, case, ruled, rule_gap, margin_line, touching,
         clutter, holes, form, labels, skew, drift, layout_json, quiet):
    """Write TEXT_FILE as a photo of a hand-printed page, with its ground truth.

    Spaces and newlines lay out the page; A-Z, a-z and 0-9 can be written (upper-cased unless
    --case mixed). TEXT_FILE may be - for stdin. A form's ground truth holds its printed
    labels too (the layout says which words are printed).

    \b
    Examples:
      ocrkit synth page note.txt -o page.jpg --seed 3
      ocrkit synth page note.txt -o ruled.jpg --case mixed --ruled --margin-line --layout
      ocrkit synth page note.txt -o desk.jpg --clutter --holes --skew 6 --touching 0.5
      ocrkit synth page name.txt -o form.jpg --form --label "First Name:" --label "Last Name:"
    """
    from ocrkit.data.pages import write_page
    try:
        text = text_file.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{text_file.name}: not a UTF-8 text file") from None
    image_path, gt_path = write_page(
        text, out, seed, char_height=char_height, colour=not grey, case=case, ruled=ruled,
        rule_gap=rule_gap, margin_line=margin_line, touching=touching, clutter=clutter,
        holes=holes, form=form, labels=labels, skew=skew, drift=drift, layout_json=layout_json)
    click.echo(str(image_path))
    note(f"ground truth written to {gt_path}" + (
        f" and the layout to {gt_path.with_name(image_path.stem + '.layout.json')}"
        if layout_json else ""), quiet)


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
