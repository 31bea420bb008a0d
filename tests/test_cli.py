"""The commands end to end on real data, through click's CliRunner."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from ocrkit import __version__, modelfile
from ocrkit.cli import main


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + getattr(result, "stderr", "")
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small MLP trained on the real nist26_valid.mat (80% of it), with its plots."""
    from conftest import data_file
    mat = data_file("nist26/nist26_valid.mat")
    tmp = tmp_path_factory.mktemp("train")
    out, plots = tmp / "m.pkl", tmp / "plots"
    result = run("train", mat, "--hidden", "64", "--epochs", "6", "--lr", "0.003",
                 "-o", out, "--plots", plots, "-q")
    return mat, out, plots, result


def test_version_and_module_entry_point():
    assert run("--version").output.strip().endswith(__version__)
    proc = subprocess.run([sys.executable, "-m", "ocrkit", "--help"], capture_output=True,
                          text=True, check=True)
    for command in ("train", "evaluate", "confusion", "inspect", "data"):
        assert command in proc.stdout


def test_train_writes_model_plots_and_scores(trained):
    mat, out, plots, result = trained
    m = re.search(r"valid accuracy ([\d.]+) \(epoch (\d+)\), test accuracy ([\d.]+)",
                  result.output)
    assert m, result.output
    assert float(m.group(1)) > 0.4 and float(m.group(3)) > 0.4     # 26 classes: chance 0.04
    model = modelfile.load(out)
    assert model.classes == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert model.scores["test_accuracy"] == pytest.approx(float(m.group(3)), abs=1e-4)
    assert len(model.history["valid_acc"]) == 6
    assert not out.with_name("m.pkl.ckpt").exists()                # checkpoint removed at the end
    for name in ("m-curves.png", "m-weights-initial.png", "m-weights-trained.png"):
        assert (plots / name).stat().st_size > 5000, name


def test_evaluate_json_and_text(trained):
    mat, out, _, result = trained
    res = json.loads(run("evaluate", out, mat, "--format", "json").output)
    assert res["n"] == 1300 and 0.4 < res["accuracy"] <= 1
    assert set(res["per_class"]) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    text = run("evaluate", out, mat, "--split", "test").output
    test_acc = float(re.search(r"test accuracy ([\d.]+)", result.output).group(1))
    assert f"accuracy {test_acc:.4f} on 130 samples" in text


def test_confusion_prints_pairs_and_draws_the_matrix(trained, tmp_path):
    mat, out, _, _ = trained
    png = tmp_path / "cm.png"
    res = run("confusion", out, mat, "--out", png, "--top", "4", "-q")
    pairs = re.findall(r"^([A-Z0-9]) -> ([A-Z0-9])  (\d+)$", res.output, re.M)
    assert len(pairs) == 4
    counts = [int(c) for _, _, c in pairs]
    assert counts == sorted(counts, reverse=True) and all(t != p for t, p, _ in pairs)
    assert png.stat().st_size > 10000


def test_inspect_describes_the_model(trained):
    _, out, _, _ = trained
    text = run("inspect", out).output
    assert "flatten -> dense 64 relu -> dense 26 softmax" in text
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ (26)" in text and "test_accuracy" in text
    info = json.loads(run("inspect", out, "--format", "json").output)
    assert info["parameters"] == 1024 * 64 + 64 + 64 * 26 + 26
    assert info["epochs_trained"] == 6


def test_several_learning_rates_train_one_run_each(nist26_path, tmp_path):
    res = run("train", nist26_path, "--hidden", "16", "--epochs", "2", "--lr", "0.01",
              "--lr", "0.001", "-o", tmp_path / "m.pkl", "--plots", tmp_path, "-q")
    assert "lr 0.01:" in res.output and "lr 0.001:" in res.output
    for lr in ("0.01", "0.001"):
        assert modelfile.load(tmp_path / f"m-lr{lr}.pkl").training["config"]["lr"] == float(lr)
    runs = json.loads((tmp_path / "m-runs.json").read_text())
    assert [r["lr"] for r in runs] == [0.01, 0.001]
    assert (tmp_path / "m-curves.png").exists()


def test_resume_finishes_an_interrupted_run(nist26_path, tmp_path):
    """A run stopped after its first checkpoint resumes to the same model as a straight run."""
    args = ["train", nist26_path, "--hidden", "16", "--epochs", "3", "--plots", tmp_path, "-q"]
    run(*args, "-o", tmp_path / "straight.pkl")
    from ocrkit import train as train_module
    original = train_module.Trainer.fit

    def fit_one_epoch_then_die(self, *a, **k):
        self.epochs_wanted, self.epochs = self.epochs, 1
        original(self, *a, **k)
        raise SystemExit("killed")

    train_module.Trainer.fit = fit_one_epoch_then_die
    try:
        CliRunner().invoke(main, [str(a) for a in args] + ["-o", str(tmp_path / "r.pkl")])
    finally:
        train_module.Trainer.fit = original
    assert (tmp_path / "r.pkl.ckpt").exists() and not (tmp_path / "r.pkl").exists()
    run(*args, "-o", tmp_path / "r.pkl", "--resume")
    a, b = modelfile.load(tmp_path / "straight.pkl"), modelfile.load(tmp_path / "r.pkl")
    assert a.history["valid_loss"] == pytest.approx(b.history["valid_loss"])
    for k, v in a.network.get_params().items():
        assert np.array_equal(v, b.network.get_params()[k])


def test_hw5_weights_score_as_the_homework_did(hw5_path, nist26_path):
    res = json.loads(run("evaluate", hw5_path, nist26_path, "--format", "json").output)
    assert res["n"] == 1300 and res["accuracy"] >= 0.78


def test_evaluate_named_dataset_defaults_to_the_test_split(hw5_path, emnist_dir):
    res = json.loads(run("evaluate", hw5_path, "emnist", "--data-dir", emnist_dir,
                         "--format", "json").output)
    assert res["split"] == "test" and res["n"] == 8930
    assert 0.70 < res["accuracy"] < 0.80                    # SOURCES.md: about 74%


def test_synth_dataset_by_name_sizes_and_mixing(tmp_path, emnist_dir):
    from ocrkit.data import load_dataset
    sizes = [len(load_dataset("synth", s, size=1000)) for s in ("train", "valid", "test", "all")]
    assert sizes == [800, 100, 100, 1000]
    a, b = load_dataset("synth", "test", size=1000), load_dataset("synth", "test", size=1000)
    assert np.array_equal(a.x, b.x)
    assert not np.array_equal(a.x, load_dataset("synth", "valid", size=1000).x)
    mixed = load_dataset("emnist+synth", "test", emnist_dir, size=1000)
    assert len(mixed) == 8930 + 100 and mixed.classes == a.classes


def test_train_on_synth_needs_no_data(tmp_path, monkeypatch):
    monkeypatch.delenv("OCRKIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    res = run("train", "synth", "--size", "3000", "--hidden", "64", "--epochs", "3",
              "-o", tmp_path / "s.pkl", "--plots", tmp_path, "-q")
    test_acc = float(re.search(r"test accuracy ([\d.]+)", res.output).group(1))
    assert test_acc > 0.3                                    # 36 classes: chance is 0.03
    out = json.loads(run("evaluate", tmp_path / "s.pkl", "synth", "--size", "3000",
                         "--format", "json").output)
    assert out["n"] == 300 and out["accuracy"] == pytest.approx(test_acc, abs=1e-4)


def test_evaluate_a_mix_of_named_datasets_defaults_to_the_test_split(tmp_path):
    run("train", "synth", "--size", "600", "--hidden", "8", "--epochs", "1",
        "-o", tmp_path / "s.pkl", "--plots", tmp_path, "-q")
    res = json.loads(run("evaluate", tmp_path / "s.pkl", "synth+synth", "--size", "600",
                         "--format", "json").output)
    assert res["split"] == "test" and res["n"] == 2 * 60


def test_restrict_chooses_only_among_the_datasets_classes(nist26_path, tmp_path):
    """nist26 holds letters only: restricted, the 36-class model can no longer answer 0 for O."""
    from pathlib import Path
    shipped = Path(__file__).resolve().parents[1] / "models" / "mlp.pkl"
    plain = json.loads(run("evaluate", shipped, nist26_path, "--format", "json").output)
    only = json.loads(run("evaluate", shipped, nist26_path, "--format", "json",
                          "--restrict").output)
    assert only["restricted"] and not plain["restricted"]
    assert only["per_class"]["O"] > plain["per_class"]["O"] + 0.3     # O -> 0 was the big one
    assert only["accuracy"] > plain["accuracy"]
    out = run("confusion", shipped, nist26_path, "--restrict", "--out", tmp_path / "c.png",
              "-q").output
    assert not re.search(r"-> \d", out)                               # no digit predicted


def test_the_cli_offers_exactly_the_engines_optimisers_and_schedules():
    from ocrkit import config
    from ocrkit.engine import OPTIMIZERS, SCHEDULES
    assert config.OPTIMIZERS == tuple(OPTIMIZERS) and config.SCHEDULES == tuple(SCHEDULES)
    for command in ("train", "finetune", "autoencode"):
        help_text = run(command, "--help").output
        assert "[sgd|momentum|adam]" in help_text and "[constant|step|cosine]" in help_text
