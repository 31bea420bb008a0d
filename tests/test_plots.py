"""plots: the user's matplotlib backend is left alone; the overlay at fit and full size."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
from click.testing import CliRunner
from PIL import Image

from ocrkit import plots
from ocrkit.cli import main
from ocrkit.page.model import Char, Line, Page, Word


def test_the_users_backend_is_kept(tmp_path):
    """A notebook (or script) that chose a backend still has it after ocrkit drew a figure;
    the figure is still written, in the type its name asks for."""
    code = ("import matplotlib, numpy as np\n"
            "matplotlib.use('pdf')\n"
            "from ocrkit import plots\n"
            "plots.sample_grid(np.zeros((3, 32, 32), np.float32), 'grid.png')\n"
            "print(matplotlib.get_backend())\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}      # no MPLBACKEND
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "pdf"
    assert Image.open(tmp_path / "grid.png").format == "PNG"


def page_of_boxes(width=1800, height=900) -> Page:
    chars = [Char(c, (100 + 160 * i, 300, 220 + 160 * i, 460), 0.5 + 0.05 * i, [])
             for i, c in enumerate("OVERLAY")]
    return Page("boxes.png", (width, height), [Line([Word(chars)])])


def test_overlay_fits_or_keeps_every_pixel(tmp_path):
    page = page_of_boxes()
    image = np.full((900, 1800), 0.8, np.float32)
    fit = Image.open(plots.overlay(image, page, tmp_path / "fit.png"))
    full = Image.open(plots.overlay(image, page, tmp_path / "full.png", full_size=True))
    assert 1100 <= max(fit.size) <= 1500
    assert full.size[0] >= 1800 and 900 <= full.size[1] <= 1000   # the page's own pixels
    # one image pixel a figure pixel: boxes 160 image pixels apart are 160 pixels apart
    for png, pixels in [(full, 160), (fit, 160 * 12 * plots.DPI / 1800)]:   # fit: 12 inches
        row = np.asarray(png.convert("RGB"), np.float32)[int(png.size[1] * 0.42)]
        coloured = np.flatnonzero(row.max(axis=1) - row.min(axis=1) > 60)  # box edges
        starts = coloured[np.r_[True, np.diff(coloured) > 3]]
        assert abs(starts[2] - starts[0] - pixels) <= 0.02 * pixels + 1, starts[:6]


def test_cli_overlay_scale_full(tmp_path):
    from ocrkit.data.pages import write_page
    image, _ = write_page("HELLO", tmp_path / "hello.png", seed=2)
    width, height = Image.open(image).size
    out = tmp_path / "boxes.png"
    result = CliRunner().invoke(main, ["ocr", str(image), "--overlay", str(out),
                                       "--overlay-scale", "full", "-q"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[0] >= width and Image.open(out).size[1] >= height


def test_cli_overlays_of_inputs_with_one_stem_do_not_collide(tmp_path):
    from ocrkit.data.pages import write_page
    a, _ = write_page("AB", tmp_path / "a" / "page.png", seed=4)
    b, _ = write_page("CD", tmp_path / "b" / "page.png", seed=5)
    result = CliRunner().invoke(main, ["ocr", str(a), str(b), "--overlay",
                                       str(tmp_path / "out" / "boxes.png"), "-q"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["boxes-01-page.png", "boxes-02-page.png"]


def test_reliability_diagram_is_written(tmp_path):
    rng = np.random.default_rng(1)
    conf = rng.random(500)
    out = plots.reliability({"honest": (conf, rng.random(500) < conf)}, tmp_path / "r.png")
    image = np.asarray(Image.open(out))
    assert image.shape[0] > 200 and image.std() > 10        # a drawn figure, not blank
