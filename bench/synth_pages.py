"""What each kind of synthetic page costs to render, beside the plain page, in one run.

    python bench/synth_pages.py [--rounds 3]

The same text, seed and cap height (48 px) for every kind; each rendered `rounds` times,
kinds alternating (bench.py's `interleaved`), median seconds. Prints megapixels, seconds, and
seconds per megapixel as a ratio to the plain page's (the cost of an option beyond the pixels
it adds). Run it under `nice` on a quiet machine: a busy one slows every kind alike.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import interleaved  # noqa: E402

from ocrkit.data.pages import render_page  # noqa: E402

TEXT = "Shopping list\n2 loaves of bread\n6 eggs and 1 jar of honey"
KINDS = {
    "plain (upper case)": dict(),
    "mixed case": dict(case="mixed"),
    "ruled + margin + holes": dict(case="mixed", ruled=True, margin_line=True, holes=True),
    "touching": dict(touching=1.0),
    "form + labels": dict(form=True, labels=["Item:", "Bread:", "Other:"]),
    "skew 8": dict(skew=8),
    "clutter": dict(case="mixed", clutter=True),
    "clutter + skew 6 + ruled": dict(case="mixed", clutter=True, skew=6, ruled=True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs, sizes = {}, {}
    for name, options in KINDS.items():
        image, _ = render_page(TEXT, seed=3, char_height=48, **options)
        sizes[name] = image.shape[0] * image.shape[1] / 1e6
        runs[name] = lambda o=options: render_page(TEXT, seed=3, char_height=48, **o)
    t = interleaved(runs, rounds=args.rounds)
    base = t["plain (upper case)"] / sizes["plain (upper case)"]
    print(f"{'page':26s} {'MP':>5s} {'s':>6s} {'s/MP':>6s}  per-MP cost / plain page's")
    for name in KINDS:
        per = t[name] / sizes[name]
        print(f"{name:26s} {sizes[name]:5.2f} {t[name]:6.2f} {per:6.2f}  {per / base:.2f}x")


if __name__ == "__main__":
    main()
