"""The `ocrkit` command: one click group, one module per command.

Commands only parse options, call the ocrkit library and print. Heavy imports (numpy, scipy,
matplotlib) happen inside each command, so `ocrkit --help` starts fast. A user mistake
(OcrkitError) becomes one line on stderr and exit status 1, never a traceback.
"""
from __future__ import annotations

import click

from ocrkit import __version__


class OcrkitGroup(click.Group):
    def invoke(self, ctx):
        from ocrkit.errors import OcrkitError
        try:
            return super().invoke(ctx)
        except OcrkitError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory; try a smaller --batch-size or dataset") \
                from None


@click.group(cls=OcrkitGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "show_default": True})
@click.version_option(__version__, "--version", prog_name="ocrkit")
def main():
    """Train handwritten-character networks with ocrkit's own numpy engine, score them, and
    read hand-printed pages."""


from ocrkit.cli import autoencode, data, evaluate, finetune, inspect, ocr, synth, train  # noqa: E402,E501

for module in (ocr, train, finetune, autoencode, evaluate, inspect, data, synth):
    for command in module.COMMANDS:
        main.add_command(command)
