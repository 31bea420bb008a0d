"""One source of defaults: the config objects (ocrkit.config), the commands built from them,
the config stored in the model file, and a notebook run equal to `ocrkit train`."""
from __future__ import annotations

import dataclasses
import inspect as pyinspect
import json

import numpy as np
import pytest
from click.testing import CliRunner

from ocrkit import modelfile
from ocrkit.cli import main
from ocrkit.config import (CONFIGS, DEFAULT_ACTIVATION, DEFAULT_HIDDEN, AutoencodeConfig,
                           ConfigError, FinetuneConfig, TrainConfig, config_from_training)
from ocrkit.data import Dataset
from ocrkit.errors import OcrkitError

# the command of each kind of run, with the arguments it needs before its options
COMMANDS = {"train": (TrainConfig, ["DATA"]), "finetune": (FinetuneConfig, ["M.pkl", "DATA"]),
            "autoencode": (AutoencodeConfig, ["DATA"])}


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:   # click >= 8.2 always keeps stderr apart
        return CliRunner()


def run(*args):
    return runner().invoke(main, [str(a) for a in args])


def parsed_config(command: str, *args):
    """The config the command makes of its arguments (parsed as for a run, not run)."""
    from ocrkit.cli.common import config_from_options
    cls, needed = COMMANDS[command]
    cmd = main.commands[command]
    ctx = cmd.make_context(command, [*needed, *map(str, args)])
    options = dict(ctx.params)
    if command == "train":              # --lr may repeat: one run each
        return config_from_options(cls, options, lr=options["lr"][0])
    return config_from_options(cls, options)


def test_the_commands_and_the_library_have_the_same_defaults():
    """No option given: each command makes exactly the default config of its kind."""
    for command, (cls, _) in COMMANDS.items():
        assert parsed_config(command) == cls(), command
        assert CONFIGS[cls.RUN] is cls


def test_every_field_is_an_option_whose_help_shows_the_librarys_default_and_help():
    for command, (cls, needed) in COMMANDS.items():
        cmd = main.commands[command]
        ctx = cmd.make_context(command, list(needed))
        params = {p.name: p for p in cmd.params}
        for f in dataclasses.fields(cls):
            assert f.name in params, f"{command} has no option for {cls.__name__}.{f.name}"
            _, text = params[f.name].get_help_record(ctx)
            assert f.metadata["help"] in text, (command, f.name)
            if f.metadata["flags"]:
                shown = f.default
            elif isinstance(f.default, bool):
                flag = f.name.replace("_", "-")                 # crop_noise -> --crop-noise
                shown = flag if f.default else f"no-{flag}"
            else:
                shown = f.default
            if shown is not None:
                assert f"[default: {shown}" in text, (command, f.name, text)
    # the differences between the kinds are the configs' own
    assert parsed_config("finetune").epochs == 15 and parsed_config("autoencode").epochs == 30
    text = run("train", "--help").output
    assert "[default: cosine]" in text and "[default: augment]" in text


def test_given_options_reach_the_config():
    config = parsed_config("train", "--epochs", "3", "--schedule", "step", "--gamma", "0.25",
                           "--no-augment", "--float64", "--balance", "--balance-power", "0.5",
                           "--patience", "2", "--optimizer", "sgd", "--lr", "0.1", "--lr", "1")
    assert config == TrainConfig(epochs=3, schedule="step", gamma=0.25, augment=False,
                                 dtype="float64", balance=True, balance_power=0.5,
                                 patience=2, optimizer="sgd", lr=0.1)
    assert parsed_config("finetune", "--freeze", "--head-lr", "0.01") == FinetuneConfig(
        freeze=True, head_lr=0.01)
    assert parsed_config("autoencode", "--noise", "0.2").noise == 0.2


def test_the_trainer_takes_its_defaults_from_the_config():
    from ocrkit.train import Trainer
    defaults = pyinspect.signature(Trainer).parameters
    for name in ("batch_size", "schedule", "step_size", "gamma", "seed"):
        assert defaults[name].default == getattr(TrainConfig(), name), name


# (command, option, value, field, the value as the library is given it)
BAD = [
    ("train", "--epochs", "0", "epochs", 0),
    ("train", "--epochs", "100001", "epochs", 100001),
    ("train", "--batch-size", "70000", "batch_size", 70000),
    ("train", "--lr", "0", "lr", 0.0),
    ("train", "--lr", "nan", "lr", float("nan")),
    ("train", "--optimizer", "lbfgs", "optimizer", "lbfgs"),
    ("train", "--schedule", "warp", "schedule", "warp"),
    ("train", "--step-size", "0", "step_size", 0),
    ("train", "--gamma", "1.5", "gamma", 1.5),
    ("train", "--weight-decay", "-1", "weight_decay", -1.0),
    ("train", "--patience", "0", "patience", 0),
    ("train", "--seed", "-1", "seed", -1),
    ("train", "--balance-power", "0", "balance_power", 0.0),
    ("finetune", "--head-lr", "-1", "head_lr", -1.0),
    ("finetune", "--epochs", "0", "epochs", 0),
    ("autoencode", "--noise", "1", "noise", 1.0),
    ("autoencode", "--lr", "-inf", "lr", float("-inf")),
]


@pytest.mark.parametrize("command, option, value, name, given", BAD)
def test_a_bad_value_gets_one_clear_error_with_the_same_words_from_library_and_cli(
        command, option, value, name, given):
    cls = COMMANDS[command][0]
    with pytest.raises(ConfigError) as info:
        cls(**{name: given})
    error = info.value
    assert isinstance(error, OcrkitError) and isinstance(error, ValueError)
    assert str(error).startswith(f"{cls.__name__}.{name} must be ") and "\n" not in str(error)
    assert error.field == name
    # the command refuses it while parsing (exit 2), before reading anything, in one line
    result = run(command, *COMMANDS[command][1], option, value)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: Invalid value for '{option}': {error.reason}"]


def test_the_library_refuses_values_of_the_wrong_type():
    for kwargs in ({"epochs": "5"}, {"epochs": 2.5}, {"epochs": True}, {"augment": "yes"},
                   {"lr": None}, {"dtype": "float16"}, {"patience": 1.5}):
        with pytest.raises(ConfigError, match=f"TrainConfig.{next(iter(kwargs))} must be"):
            TrainConfig(**kwargs)
    with pytest.raises(TypeError, match="augment"):       # an autoencoder has no such field
        AutoencodeConfig(augment=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0                            # checked once: it cannot change after
    assert type(TrainConfig(lr=1).lr) is float
    assert type(TrainConfig(epochs=np.int64(3)).epochs) is int


def test_train_model_refuses_a_config_that_is_not_one():
    from ocrkit.train import mlp_specs, train_model
    data = Dataset(np.zeros((4, 4, 4), np.float32), np.array([0, 1, 0, 1]), ("A", "B"))
    with pytest.raises(TypeError, match="TrainConfig"):
        train_model(mlp_specs([4], "relu", 2), data, data, {"epochs": 1})


# -- stored in the model file ------------------------------------------------------------------
def blobs(n=200, classes=3, seed=0):
    """Three clusters of 32x32 'characters' (model files hold 32x32 models)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.uniform(0.2, 0.8, size=(classes, 32, 32)).astype(np.float32)
    x = np.clip(centres[y] + rng.normal(0, 0.1, size=(n, 32, 32)), 0, 1).astype(np.float32)
    return Dataset(x[:160], y[:160], "ABC"), Dataset(x[160:], y[160:], "ABC")


def test_each_kind_of_config_round_trips_through_a_saved_model_file(tmp_path):
    from ocrkit.autoencode import autoencoder_specs
    from ocrkit.finetune import finetune
    from ocrkit.train import mlp_specs, train_model
    train, valid = blobs()
    config = TrainConfig(optimizer="momentum", lr=0.02, epochs=2, batch_size=16,
                         schedule="step", step_size=1, gamma=0.9, weight_decay=1e-4,
                         patience=3, seed=5, balance=True, balance_power=0.5, augment=False,
                         dtype="float64")
    base, _ = train_model(mlp_specs([8], "relu", 3), train, valid, config, progress=False,
                          record={"dataset": "blobs"})
    assert base.network.dtype == np.float64
    tuned_config = FinetuneConfig(epochs=1, freeze=True, head_lr=0.05, augment=False, seed=2)
    tuned, _ = finetune(base, train, valid, tuned_config, progress=False)
    assert tuned.network.dtype == np.float64             # the starting model's arrays
    ae_config = AutoencodeConfig(epochs=2, lr=0.01, noise=0.1, schedule="constant")
    ae, _ = train_model(autoencoder_specs([4]), train, valid, ae_config,
                        progress=False)
    for model, want, path in ((base, config, "base.pkl"), (tuned, tuned_config, "tuned.pkl"),
                              (ae, ae_config, "ae.pkl")):
        modelfile.save(model, tmp_path / path)
        loaded = modelfile.load(tmp_path / path)
        assert loaded.training["run"] == want.RUN
        assert loaded.training["config"] == dataclasses.asdict(want)     # plain data
        back = config_from_training(loaded.training)
        assert type(back) is type(want) and back == want
    # the facts about the run stay beside the config
    assert modelfile.load(tmp_path / "base.pkl").training["dataset"] == "blobs"
    assert modelfile.load(tmp_path / "tuned.pkl").training["finetuned_from"] == base.source


def test_inspect_shows_the_config_and_old_model_files_still_load(tmp_path):
    from ocrkit.train import mlp_specs, train_model
    train, valid = blobs()
    config = TrainConfig(epochs=1, lr=0.02, augment=False)
    model, _ = train_model(mlp_specs([8], "relu", 3), train, valid, config, progress=False)
    path = tmp_path / "m.pkl"
    modelfile.save(model, path)
    text = run("inspect", path).output
    assert "training     run: train" in text
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        shown = value if isinstance(value, str) else repr(value)
        assert f"config       {f.name}: {shown}\n" in text, f.name
    info = json.loads(run("inspect", path, "--format", "json").output)
    assert info["training"]["config"] == dataclasses.asdict(config)
    # a model file trained before configs: loads, shows its flat record, holds no config
    from pathlib import Path
    old = Path(__file__).resolve().parents[1] / "models" / "mlp.pkl"
    shipped = modelfile.load(old)
    assert "config" not in shipped.training and config_from_training(shipped.training) is None
    result = run("inspect", old)
    assert result.exit_code == 0 and "training     schedule: cosine" in result.output


def test_a_stored_config_that_is_not_valid_is_refused():
    record = {"run": "train", "config": {**dataclasses.asdict(TrainConfig()), "lr": -1}}
    with pytest.raises(ConfigError, match="TrainConfig.lr"):
        config_from_training(record)
    record["config"] = {**dataclasses.asdict(TrainConfig()), "momentum": 0.5}
    with pytest.raises(ConfigError, match="momentum.*not a field"):
        config_from_training(record)
    assert config_from_training({"run": "lines", "config": {}}) is None


def test_a_resumed_run_must_keep_every_config_field_but_epochs_and_patience(tmp_path):
    from ocrkit.train import mlp_specs, train_model
    train, valid = blobs()
    ckpt = tmp_path / "m.pkl.ckpt"
    first = TrainConfig(epochs=1, augment=False, schedule="step")
    train_model(mlp_specs([8], "relu", 3), train, valid, first, checkpoint_to=ckpt,
                progress=False)
    with pytest.raises(OcrkitError, match="gamma 0.5 -> 0.25"):
        train_model(mlp_specs([8], "relu", 3), train, valid,
                    dataclasses.replace(first, epochs=2, gamma=0.25), checkpoint_to=ckpt,
                    resume=True, progress=False)
    model, _ = train_model(mlp_specs([8], "relu", 3), train, valid,
                           dataclasses.replace(first, epochs=2, patience=5),
                           checkpoint_to=ckpt, resume=True, progress=False)
    assert len(model.history["train_loss"]) == 2


# -- a notebook run is `ocrkit train`'s ----------------------------------------------------------
def test_a_notebook_run_with_the_default_config_is_ocrkit_train_without_options(tmp_path):
    """`ocrkit train synth` with no training options and `train_model` with TrainConfig() on
    the same data store the same config and train the same network, weight for weight."""
    from ocrkit.data import load_dataset
    from ocrkit.train import mlp_specs, train_model
    out = tmp_path / "cli.pkl"
    result = run("train", "synth", "--size", "60", "-o", out, "--plots", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    cli = modelfile.load(out)

    train, valid = (load_dataset("synth", s, size=60) for s in ("train", "valid"))
    specs = mlp_specs(list(DEFAULT_HIDDEN), DEFAULT_ACTIVATION, len(train.classes))
    notebook, _ = train_model(specs, train, valid, progress=False)

    assert notebook.training["run"] == cli.training["run"] == "train"
    assert notebook.training["config"] == cli.training["config"] == dataclasses.asdict(
        TrainConfig())
    assert notebook.network.specs == cli.network.specs
    for k, v in notebook.network.get_params().items():
        assert np.array_equal(v, cli.network.get_params()[k]), k
