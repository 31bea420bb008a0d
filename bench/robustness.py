"""`make robustness`: the real pages' CER when the same photos are taken a little differently.

The pages scored outside the project are other photos of the same kinds of page, so a reading
that holds only at the exact size, angle and quality of the dev photos is overfitted. Each
handwritten page of ../shared/data/pages is read as it is and after one change at a time:

    half     half the pixels a side (a webcam, a thumbnail)
    double   twice the pixels a side (bicubic; pages over 3 MP are left as they are)
    turn+4   turned 4 degrees counter-clockwise, the new corners in the border's colour
    turn-4   turned 4 degrees clockwise
    shade    lit from one side (brightness falling to 55% across the page)
    jpeg     blurred (Gaussian, radius 1) and saved as JPEG at quality 35
    x0.85    the photo as it is, but read at a working scale 0.85 times the pipeline's own
    x1.15    (ocrkit.page.clean's HEIGHT and STROKE_MIN times the factor): the pipeline's
    x1.3     constants were tuned on these photos; these show whether a rule holds off them

and scored as bench/pages.py scores (case-insensitive, capped at 100% a page, character-
weighted). One process reads everything with one Reader, so it takes a few minutes.

    python bench/robustness.py [--variants half,jpeg] [--pages DIR] [--json OUT] [NAME ...]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ocrkit.metrics import error_rates, normalise_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import PRINTED  # noqa: E402  (the forms scored apart, as make pages does)


def _turn(degrees):
    def turn(rgb):
        # the whole photo kept (expanded), the new corners in the colour of its border: what
        # lies around the sheet, as in a photo taken at that angle
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        fill = tuple(int(v) for v in np.median(border, axis=0))
        return np.asarray(Image.fromarray(rgb).rotate(degrees, Image.BICUBIC, expand=True,
                                                       fillcolor=fill))
    return turn


def _resize(factor, method):
    def resize(rgb):
        h, w = rgb.shape[:2]
        if factor > 1 and h * w > 3e6:
            return rgb
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        return np.asarray(Image.fromarray(rgb).resize(size, method))
    return resize


def _shade(rgb):
    h, w = rgb.shape[:2]
    light = np.linspace(0.55, 1.0, w, dtype=np.float32)[None, :, None]
    return np.clip(rgb * light, 0, 255).astype(np.uint8)


def _jpeg(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(1.0)).save(buffer, "JPEG", quality=35)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@contextmanager
def _working_scale(factor: float):
    """The page pipeline's working scale times `factor` while inside (clean.HEIGHT, the
    character height pages are brought to, and clean.STROKE_MIN, the thinnest stroke)."""
    from ocrkit.page import clean
    saved = clean.HEIGHT, clean.STROKE_MIN
    clean.HEIGHT, clean.STROKE_MIN = saved[0] * factor, saved[1] * factor
    try:
        yield
    finally:
        clean.HEIGHT, clean.STROKE_MIN = saved


SCALES = {"x0.85": 0.85, "x1.15": 1.15, "x1.3": 1.3}
def _as_is(rgb):
    return rgb


VARIANTS = {
    "as is": _as_is,
    "half": _resize(0.5, Image.LANCZOS),
    "double": _resize(2.0, Image.BICUBIC),
    "turn+4": _turn(4.0),
    "turn-4": _turn(-4.0),
    "shade": _shade,
    "jpeg": _jpeg,
    **{name: _as_is for name in SCALES},       # the photo as is, read at another scale
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only the pages whose names hold one of these")
    ap.add_argument("--variants", default=",".join(list(VARIANTS)[1:]),
                    help="comma-separated, of: " + ", ".join(list(VARIANTS)[1:]))
    ap.add_argument("--pages", type=Path, default=ROOT.parent / "shared" / "data" / "pages")
    ap.add_argument("--json", type=Path, default=ROOT / "out" / "robustness.json")
    args = ap.parse_args(argv)
    variants = ["as is"] + [v for v in args.variants.split(",") if v and v != "as is"]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants: {', '.join(unknown)}")
    from ocrkit import Reader
    reader = Reader()
    rows = list(csv.DictReader(open(args.pages / "pages.tsv"), delimiter="\t"))
    errors = {v: 0.0 for v in variants}
    chars, per_page = 0, {}
    print(f"{'page':28s}" + "".join(f"{v:>9s}" for v in variants), flush=True)
    for row in rows:
        stem = row["name"].rsplit(".", 1)[0]
        if stem in PRINTED or (args.names and not any(n in stem for n in args.names)):
            continue
        truth = (args.pages / f"{stem}.gt.txt").read_text()
        n = len(normalise_text(truth))
        with Image.open(args.pages / row["name"]) as image:
            rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        cers = {}
        for v in variants:
            with _working_scale(SCALES.get(v, 1.0)):
                page = reader.read(VARIANTS[v](rgb))
            cers[v] = min(1.0, error_rates(page.text, truth)["cer"])
            errors[v] += n * cers[v]
        chars += n
        per_page[stem] = cers
        print(f"{stem:28s}" + "".join(f"{100 * cers[v]:8.1f}%" for v in variants), flush=True)
    if not chars:
        print("no pages", file=sys.stderr)
        return 1
    total = {v: errors[v] / chars for v in variants}
    label = f"all ({chars} chars)"
    print(f"{label:28s}" + "".join(f"{100 * total[v]:8.1f}%" for v in variants))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"total": total, "pages": per_page, "chars": chars}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
