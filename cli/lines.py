"""`ocrkit train-lines`: train a line recognizer (CTC over whole lines) on lines composed from
EMNIST ByClass and synth62 characters, and write a line model file (ocrkit.lines)."""
from __future__ import annotations

import click

from ocrkit.cli.common import data_dir_option, note, progress_enabled, quiet_option
from ocrkit.config import LINE_PRINTED


@click.command("train-lines")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Line model file to write.")
@click.option("--lines", type=click.IntRange(min=1), default=8000,
              help="Texts per epoch (drawn anew each epoch with fresh characters).")
@click.option("--epochs", type=click.IntRange(min=1), default=20, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, help="Mini-batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=3e-3,
              help="Adam learning rate (cosine schedule over the epochs).")
@click.option("--valid-lines", type=click.IntRange(min=1), default=500,
              help="Validation (and test) lines, drawn once from those splits.")
@click.option("--printed", type=click.FloatRange(0, 1), default=LINE_PRINTED, show_default=True,
              help="Share of the lines set in a font instead of handwriting (a form's "
                   "printed labels).")
@click.option("--seed", type=int, default=0, help="Random seed.")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Train this line model further: start from its parameters (its "
                   "architecture must be the one train-lines builds) [default: random].")
@data_dir_option
@quiet_option
def train_lines(out, lines, epochs, batch_size, lr, valid_lines, printed, seed, init, data_dir,
                quiet):
    """Train a line model: best weights by validation CER; prints validation and test CER."""
    from ocrkit import modelfile
    from ocrkit.lines import train_lines as train
    modelfile.check_writable(out)
    model, result = train(lines=lines, epochs=epochs, batch_size=batch_size, lr=lr,
                          valid_lines=valid_lines, test_lines=valid_lines, printed=printed,
                          seed=seed,
                          data_dir=data_dir, progress=progress_enabled(quiet), init=init)
    modelfile.save(model, out)
    s = model.scores
    if init is not None:
        note(f"{init}: CER on these validation lines before training "
             f"{100 * model.training['init_valid_cer']:.2f}%", quiet)
    note(f"{out}: epoch {result.best_epoch} of {len(result.history['train_loss'])}, "
         f"{result.seconds / 60:.1f} min; CER on composed lines: valid "
         f"{100 * s['valid_cer']:.2f}%, test {100 * s['test_cer']:.2f}%", quiet)


COMMANDS = [train_lines]
