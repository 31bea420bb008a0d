"""One config object per kind of training run, holding every hyper-parameter with its one
default, checked once when it is made.

    from ocrkit.config import TrainConfig
    from ocrkit.train import train_model
    model, result = train_model(specs, train, valid, TrainConfig(epochs=5, lr=3e-3))

`TrainConfig` (a classifier from scratch: `ocrkit train`), `FinetuneConfig` (from a trained
classifier: `ocrkit finetune`) and `AutoencodeConfig` (`ocrkit autoencode`) are frozen
dataclasses. Each field carries its check and its help text; the commands build their
options from the fields (cli/common.config_options), so `--help` shows these defaults and a
value is refused with the same words by the library and the command line. `train_model`
stores `dataclasses.asdict(config)` in the model file's training record (plain data) and
`config_from_training` makes the object again; `ocrkit inspect` shows it.

A bad value raises ConfigError (an OcrkitError, which the CLI prints as one `Error:` line,
and a ValueError): "TrainConfig.lr must be a finite number > 0, not 0".

This module imports nothing heavy (no numpy): the command line reads it to start.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import ClassVar

from ocrkit.errors import OcrkitError

# The names ocrkit.engine's OPTIMIZERS and SCHEDULES have (a test keeps them equal): written
# out so that the command line starts without numpy.
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")
MAX_EPOCHS = 100_000
MAX_BATCH = 65_536
MAX_SEED = 2**32 - 1

#: The architecture `ocrkit train` builds without --hidden/--arch, and the hidden-layer
#: activation (`ocrkit.train.mlp_specs(DEFAULT_HIDDEN, DEFAULT_ACTIVATION, classes)`).
DEFAULT_HIDDEN = (512, 256)
DEFAULT_ACTIVATION = "relu"
#: The HW5 (2018) autoencoder's hidden layers, 1024-32-32-32-1024, and their activation
#: (`ocrkit autoencode`; `ocrkit.autoencode.autoencoder_specs`).
AUTOENCODER_HIDDEN = (32, 32, 32)
AUTOENCODER_ACTIVATION = "relu"
#: The share of composed lines a line model trains on set in a font, not drawn by hand (a
#: form's printed labels; `ocrkit train-lines --printed`, ocrkit.lines.train_lines).
LINE_PRINTED = 0.15


class ConfigError(OcrkitError, ValueError):
    """A training option of the wrong type or out of its range. `field` is its name,
    `reason` the part without it ("must be ..., not ...")."""

    def __init__(self, owner: str, name: str, reason: str):
        super().__init__(f"{owner}.{name} {reason}")
        self.field, self.reason = name, reason


# -- what a field may hold ---------------------------------------------------------------------
class Check:
    """A field's constraint: `check(value)` returns the value as stored (a plain int, float,
    str or bool) or raises ValueError("must be ..., not ...")."""

    def describe(self) -> str:
        raise NotImplementedError

    def fail(self, value):
        raise ValueError(f"must be {self.describe()}, not {value!r}")


@dataclass(frozen=True)
class Number(Check):
    """An int (kind int) or a finite float between low and high (None: unbounded), each end
    closed unless said open."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, value):
        if isinstance(value, bool) or not isinstance(
                value, numbers.Integral if self.kind is int else numbers.Real):
            self.fail(value)
        x = self.kind(value)
        if not math.isfinite(x) or (
                self.low is not None and (x < self.low or self.low_open and x == self.low)
                ) or (self.high is not None and (x > self.high or
                                                 self.high_open and x == self.high)):
            self.fail(value)
        return x

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a finite number"
        if self.low is not None and self.high is not None:
            if self.kind is int:
                return f"{what} from {self.low} to {self.high}"
            return (f"a number in {'(' if self.low_open else '['}{self.low:g}, "
                    f"{self.high:g}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{what} {'<' if self.high_open else '<='} {self.high:g}"
        return what


@dataclass(frozen=True)
class OneOf(Check):
    choices: tuple

    def check(self, value):
        if not isinstance(value, str) or value not in self.choices:
            self.fail(value)
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)


@dataclass(frozen=True)
class Flag(Check):
    def check(self, value):
        if not isinstance(value, bool):
            self.fail(value)
        return value

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class OrNone(Check):
    """None, or what `inner` admits."""

    inner: Check

    def check(self, value):
        return None if value is None else self.inner.check(value)

    def describe(self) -> str:
        return f"{self.inner.describe()}, or None"


def option(default, check: Check, help: str, *, flags: tuple | None = None):
    """A config field: its one default, its check and its --help text. `flags` (two values)
    makes the command-line option an on/off pair of flags named after them
    (`--float64/--float32`) instead of `--name VALUE`."""
    return field(default=default, metadata={"check": check, "help": help, "flags": flags})


def like(base, name: str, default=dataclasses.MISSING, help: str | None = None):
    """Field `name` of config class `base` again in a subclass, with another default or help
    (its check the same)."""
    f = base.__dataclass_fields__[name]
    return option(f.default if default is dataclasses.MISSING else default, f.metadata["check"],
                  f.metadata["help"] if help is None else help, flags=f.metadata["flags"])


# -- the configs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunConfig:
    """What every training run is given: optimiser, schedule, budget, seed."""

    RUN: ClassVar[str] = ""

    optimizer: str = option("adam", OneOf(OPTIMIZERS), "sgd; momentum (0.9, as HW5); adam.")
    lr: float = option(1e-3, Number(float, 0, low_open=True), "Learning rate.")
    epochs: int = option(20, Number(int, 1, MAX_EPOCHS), "Training epochs.")
    batch_size: int = option(32, Number(int, 1, MAX_BATCH), "Mini-batch size.")
    schedule: str = option("cosine", OneOf(SCHEDULES),
                           "Learning-rate schedule over the epochs: constant; step (times "
                           "--gamma every --step-size epochs); cosine (down to 0 at the end).")
    step_size: int = option(10, Number(int, 1, MAX_EPOCHS),
                            "Epochs between two steps of --schedule step.")
    gamma: float = option(0.5, Number(float, 0, 1, low_open=True),
                          "What each step of --schedule step multiplies the learning rate by.")
    weight_decay: float = option(0.0, Number(float, 0), "L2 penalty on weights.")
    patience: int | None = option(None, OrNone(Number(int, 1, MAX_EPOCHS)),
                                  "Stop after this many epochs without a better validation "
                                  "score [default: train every epoch].")
    seed: int = option(0, Number(int, 0, MAX_SEED), "Seed for initialisation and shuffling.")

    def __post_init__(self):
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            try:
                value = f.metadata["check"].check(getattr(self, f.name))
            except ValueError as exc:
                raise ConfigError(owner, f.name, str(exc)) from None
            object.__setattr__(self, f.name, value)

    @classmethod
    def check_field(cls, name: str, value):
        """`value` as field `name` stores it, or ConfigError: what the command line checks
        each option with as it parses it, before any data is loaded."""
        try:
            return cls.__dataclass_fields__[name].metadata["check"].check(value)
        except ValueError as exc:
            raise ConfigError(cls.__name__, name, str(exc)) from None

    def to_dict(self) -> dict:
        """Plain data for a model file: `dataclasses.asdict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """The config `to_dict` gave (checked again); ConfigError for a field this version
        does not have, so a record is never read as something it was not."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(cls.__name__, str(unknown[0]), "is not a field of this version "
                              f"(fields: {', '.join(sorted(names))})")
        return cls(**d)


@dataclass(frozen=True)
class _Classifier(RunConfig):
    balance: bool = option(False, Flag(), "Draw training samples so every class is equally "
                                          "likely.")
    balance_power: float = option(1.0, Number(float, 0, 1, low_open=True),
                                  "With --balance, draw each sample with probability "
                                  "1/count^P of its class (1: classes equally likely; 0.5: by "
                                  "the square root of their count).")
    augment: bool = option(True, Flag(), "Randomly scale, stretch, rotate, slant and shift "
                                         "each training batch, distort some elastically, "
                                         "thicken some strokes and add pixel noise to some.")
    crop_noise: bool = option(False, Flag(), "With --augment, give some samples what a real "
                                             "page's crop keeps: specks, an underline stub, "
                                             "faded strokes (ocrkit.data.augment).")
    styles: bool = option(False, Flag(), "With --augment, draw writers' styles EMNIST lacks on "
                                         "some samples of their class: crossed 7 and Z, barred "
                                         "J, 1 with flag and foot, G with a spur.")


@dataclass(frozen=True)
class TrainConfig(_Classifier):
    """A classifier trained from a random start (`ocrkit train`)."""

    RUN: ClassVar[str] = "train"

    dtype: str = option("float32", OneOf(DTYPES), "Train in float64 (slower) or float32.",
                        flags=("float64", "float32"))


@dataclass(frozen=True)
class FinetuneConfig(_Classifier):
    """A trained classifier adapted to new data (`ocrkit finetune`; ocrkit.finetune). The
    arrays keep the starting model's dtype."""

    RUN: ClassVar[str] = "finetune"

    lr: float = like(RunConfig, "lr", help="Learning rate of the feature layers (all layers "
                                           "without --head-lr).")
    epochs: int = like(RunConfig, "epochs", 15)
    seed: int = like(RunConfig, "seed", help="Seed for the new layer, shuffling and the "
                                             "few-shot split.")
    freeze: bool = option(False, Flag(), "Train only the output layer; the feature layers stay "
                                         "as they are.")
    head_lr: float | None = option(None, OrNone(Number(float, 0, low_open=True)),
                                   "Learning rate of the output layer [default: --lr].")


@dataclass(frozen=True)
class AutoencodeConfig(RunConfig):
    """An autoencoder: the images are their own target, under squared error (`ocrkit
    autoencode`). It has no `augment`: the target is the input, so geometric augmentation
    would change one and not the other; `noise` corrupts the input only (denoising)."""

    RUN: ClassVar[str] = "autoencode"

    lr: float = like(RunConfig, "lr", help="Learning rate (the loss is the squared error "
                                           "summed over pixels, averaged over the batch).")
    epochs: int = like(RunConfig, "epochs", 30)
    seed: int = like(RunConfig, "seed", help="Seed for initialisation, shuffling, noise.")
    noise: float = option(0.0, Number(float, 0, 1, high_open=True),
                          "Denoising: train on inputs with this share of pixels set to 0 or 1 "
                          "(salt and pepper); targets stay clean.")
    reframe: float = option(0.0, Number(float, 0, 1),
                            "Train with this share of each batch in NIST36's framing, input "
                            "and target alike: larger in the frame, harder strokes "
                            "(ocrkit.data.augment.Reframe).")
    dtype: str = like(TrainConfig, "dtype")


CONFIGS = {c.RUN: c for c in (TrainConfig, FinetuneConfig, AutoencodeConfig)}


def config_from_training(training: dict) -> RunConfig | None:
    """The config a model file's training record holds (train_model stores `run` and
    `config`), or None for a record without one: a model trained before configs (its
    options are the record's own keys), a line model, an HW5 import. ConfigError when the
    stored values are not a valid config."""
    cls = CONFIGS.get(training.get("run")) if isinstance(training, dict) else None
    stored = training.get("config") if cls is not None else None
    if not isinstance(stored, dict):
        return None
    return cls.from_dict(stored)
