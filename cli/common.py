"""Options and helpers shared by several commands."""
from __future__ import annotations

import logging
import math
import sys

import click

from ocrkit.config import MAX_SEED


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (FloatRange lets nan through: every
    comparison with it is False)."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


def seed_option(help: str = "Random seed."):
    """--seed for the commands that do not train (the training commands' comes with their
    config, config_options)."""
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, help=help)


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

# -- the training commands' options: one per field of their ocrkit.config class --------------
def field_number(owner, name: str, number) -> click.ParamType:
    """The click type of a number field (an ocrkit.config.Number): click's range type of the
    field's bounds, so --help shows them as click shows one ("[default: 20; 1<=x<=100000]"),
    each value checked by the field's own check (ConfigError's words)."""
    base, parse = ((click.IntRange, click.INT) if number.kind is int
                   else (click.FloatRange, click.FLOAT))

    class FieldNumber(base):
        def convert(self, value, param, ctx):
            from ocrkit.config import ConfigError
            value = parse.convert(value, param, ctx)
            try:
                return owner.check_field(name, value)
            except ConfigError as exc:
                self.fail(exc.reason, param, ctx)

    return FieldNumber(min=number.low, max=number.high, min_open=number.low_open,
                       max_open=number.high_open)


def field_choice(owner, name: str, one_of) -> click.Choice:
    """The click type of a field of named choices (an ocrkit.config.OneOf): click.Choice
    (--help lists them, "[sgd|momentum|adam]"), refusing with the field's own words."""

    class FieldChoice(click.Choice):
        def convert(self, value, param, ctx):
            from ocrkit.config import ConfigError
            try:
                return owner.check_field(name, value)
            except ConfigError as exc:
                self.fail(exc.reason, param, ctx)

    return FieldChoice(one_of.choices)


def config_options(config_class, *, multiple: tuple = (), more_help: dict | None = None):
    """Decorate a command with one option per field of `config_class` (ocrkit.config), named
    after it (batch_size -> --batch-size; a bool -> --augment/--no-augment; a field with
    `flags` -> --float64/--float32), its default the field's default, its help the field's
    help (`more_help` adds command-specific words), checked as it is parsed by the field's
    own check: `--help` shows the library's defaults and a bad value gets the library's
    words, before any data is loaded. `multiple`: fields the option may repeat (train's --lr;
    a tuple of values). The command gets each field under its name; config_from_options
    makes the config of them."""
    import dataclasses

    from ocrkit.config import Flag, Number, OneOf, OrNone

    def decorate(command):
        for f in reversed(dataclasses.fields(config_class)):
            check, text, flags = f.metadata["check"], f.metadata["help"], f.metadata["flags"]
            if (more_help or {}).get(f.name):
                text = f"{text} {more_help[f.name]}"
            decl = "--" + f.name.replace("_", "-")
            inner = check.inner if isinstance(check, OrNone) else check
            kw = dict(help=text, show_default=True)
            if flags:
                on, off = flags
                command = click.option(f"--{on}/--{off}", f.name, default=f.default == on,
                                       callback=lambda ctx, p, v, on=on, off=off:
                                       on if v else off, **kw)(command)
                continue
            if isinstance(inner, Flag):
                decl = f"{decl}/--no-{f.name.replace('_', '-')}"
                kind = None
            elif isinstance(inner, OneOf):
                kind = field_choice(config_class, f.name, inner)
            elif isinstance(inner, Number):
                kind = field_number(config_class, f.name, inner)
            else:
                raise TypeError(f"no option for {f.name}'s {type(inner).__name__}")
            default = f.default
            if f.name in multiple:
                kw["multiple"], default = True, [f.default]
            command = click.option(decl, f.name, type=kind, default=default, **kw)(command)
        return command
    return decorate


def config_from_options(config_class, options: dict, **values):
    """The `config_class` of the options config_options gave the command (taken out of
    `options`); `values` replace some (train's one --lr of several)."""
    import dataclasses
    kw = {f.name: options.pop(f.name) for f in dataclasses.fields(config_class)}
    return config_class(**{**kw, **values})


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
