"""Shared fixtures: the real data folder and the XML schemas (skip cleanly when absent)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """$OCRKIT_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("OCRKIT_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def data_file(relative: str) -> Path:
    """A file of the real data folder, or skip the test when it is not there."""
    path = data_root() / relative
    if not path.exists():
        pytest.skip(f"real data {relative} not found under {data_root()}")
    return path


def schema_file(name: str) -> Path:
    """An XML schema from $OCRKIT_SCHEMAS, else the schemas folder beside the real data
    folder (../shared/schemas), or skip the test when it is not there."""
    env = os.environ.get("OCRKIT_SCHEMAS")
    path = (Path(env) if env else data_root().parent / "schemas") / name
    if not path.exists():
        pytest.skip(f"schema {name} not found under {path.parent}")
    return path


@pytest.fixture
def nist26_path() -> Path:
    return data_file("nist26/nist26_valid.mat")


@pytest.fixture
def emnist_dir() -> Path:
    data_file("emnist/emnist-byclass-test-images-idx3-ubyte.gz")
    return data_root()


@pytest.fixture
def hw5_path() -> Path:
    return data_file("hw5-weights/q3_weights.pickle")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
