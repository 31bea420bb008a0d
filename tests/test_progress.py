"""Progress without a terminal: log lines on stderr (none with -q), for ocr, evaluate and
every training epoch."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import ocrkit.progress
from ocrkit.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def every_update(monkeypatch):
    """A log line at every update rather than every few seconds."""
    monkeypatch.setattr(ocrkit.progress, "EVERY", 0.0)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_ocr_logs_pages_and_rate_without_a_terminal(every_update, tmp_path):
    for i in range(3):
        shutil.copy(REPO / "images" / f"synth_0{1 + i % 2}.jpg", tmp_path / f"p{i}.jpg")
    res = run("ocr", tmp_path, "--jobs", "1")
    assert res.exit_code == 0, res.stderr
    lines = re.findall(r"^ocr: (\d)/3 pages, [\d.]+ pages/s$", res.stderr, re.M)
    assert lines == ["1", "2", "3"]
    assert not re.search(r"/3 pages,", run("ocr", tmp_path, "--jobs", "1", "-q").stderr)


def test_training_logs_every_epoch_without_a_terminal(tmp_path):
    res = run("train", "synth", "--size", "300", "--hidden", "8", "--epochs", "2",
              "-o", tmp_path / "s.pkl", "--plots", tmp_path)
    assert res.exit_code == 0, res.stderr
    epochs = re.findall(r"^lr 0.001 epoch (\d)/2: loss [\d.]+ acc [\d.]+ \| valid loss [\d.]+ "
                        r"acc [\d.]+ \([\d.]+ s\)$", res.stderr, re.M)
    assert epochs == ["1", "2"]
    quiet = run("train", "synth", "--size", "300", "--hidden", "8", "--epochs", "2",
                "-o", tmp_path / "q.pkl", "--plots", tmp_path, "-q")
    assert "epoch" not in quiet.stderr


def test_evaluate_logs_its_progress_without_a_terminal(every_update, tmp_path):
    run("train", "synth", "--size", "300", "--hidden", "8", "--epochs", "1",
        "-o", tmp_path / "s.pkl", "--plots", tmp_path, "-q")
    res = run("evaluate", tmp_path / "s.pkl", "synth", "--size", "300")
    assert res.exit_code == 0, res.stderr
    assert re.search(r"^score: 30/30 samples, [\d,.]+ samples/s$", res.stderr, re.M)
    assert res.stdout.startswith("accuracy ")
