"""The default model is package data: a wheel installed anywhere finds it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_with_target_reads_a_page_from_another_folder(tmp_path):
    source = tmp_path / "source"        # a clean copy: the build leaves build/ behind
    top = {".git", ".venv", "out", "data", "build", "dist", ".pytest_cache", "docs", "bench"}
    shutil.copytree(REPO, source, ignore=lambda folder, names: [
        n for n in names if n == "__pycache__" or n.endswith(".egg-info")
        or (Path(folder) == REPO and n in top)])
    # the test extra holds setuptools and wheel: no build environment to download
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist",
                    source], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("ocrkit-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp_path / "site", wheel],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(REPO / "images" / "synth_01.jpg", elsewhere / "page.jpg")
    proc = subprocess.run(
        [sys.executable, "-c", "import ocrkit; r = ocrkit.Reader(); print(ocrkit.__file__); "
                               "print(r.model.source); print(r.read('page.jpg').text)"],
        cwd=elsewhere, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path / "site")})
    assert proc.returncode == 0, proc.stderr
    module, model, text = proc.stdout.split("\n", 2)
    assert module.startswith(str(tmp_path / "site"))           # the installed copy, not ours
    assert model == str(tmp_path / "site" / "ocrkit" / "models" / "default.pkl")
    assert text.splitlines()[0] == "SHOPPING LIST"
