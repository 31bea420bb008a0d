"""The `ocrkit` command: one click group, one module per command.

Commands only parse options, call the ocrkit library and print. Heavy imports (numpy, scipy,
matplotlib) happen inside each command, so `ocrkit --help` starts fast. A user mistake
(OcrkitError) becomes one line on stderr and exit status 1, never a traceback.
"""
from __future__ import annotations

import click

from ocrkit import __version__


# What to try when a command runs out of memory, by command.
MEMORY_ADVICE = {
    "train": "try a smaller --batch-size, network or dataset (--size)",
    "finetune": "try a smaller --batch-size or dataset",
    "autoencode": "try a smaller --batch-size, network or dataset (--size)",
    "evaluate": "try a smaller dataset (--split, --size)",
    "confusion": "try a smaller dataset (--split, --size)",
    "ocr": "the image is too large for this machine's memory; try a smaller one",
    "synth": "try a smaller page (--char-height) or --n",
}


class OcrkitGroup(click.Group):
    def invoke(self, ctx):
        from ocrkit.errors import OcrkitError
        try:
            return super().invoke(ctx)
        except OcrkitError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            command = ctx.invoked_subcommand or ctx.info_name
            top = ctx.find_root().invoked_subcommand or command
            advice = MEMORY_ADVICE.get(top, "the input is too large for this machine's memory")
            raise click.ClickException(f"out of memory in 'ocrkit {top}'; {advice}") from None


@click.group(cls=OcrkitGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "show_default": True})
@click.version_option(__version__, "--version", prog_name="ocrkit")
def main():
    """Train handwritten-character networks with ocrkit's own numpy engine, score them, and
    read hand-printed pages."""


from ocrkit.cli import (autoencode, data, evaluate, finetune, inspect, lines, ocr,  # noqa: E402
                        synth, train)

for module in (ocr, train, lines, finetune, autoencode, evaluate, inspect, data, synth):
    for command in module.COMMANDS:
        main.add_command(command)
