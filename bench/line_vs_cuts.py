"""Two ways to read the lines of a page, side by side on the real pages (issue 12, item 2):

- cuts: the page pipeline as it is (`ocrkit.Reader().read(path)`: clean, segment into lines
  of atoms, every run of 1-4 atoms read by the character model, the best path of cuts);
- line: the same cleaned page and the same lines (ocrkit.page.clean.clean and
  ocrkit.page.segment.segment), each line's atoms cut out of `cleaned.ink` as one crop (the
  union of their boxes, no more than 0.8 of the band's height above and below the line's
  band, other lines' ink masked out) and read whole by the line model
  (ocrkit.lines.read_lines: CTC, best path, words split by the pipeline's word_spaces), then
  the pipeline's rules for any reader, as the Reader applies them to the cuts: look-alikes by
  word and the page's case (ocrkit.lines.page_text; --no-rules leaves them out).

    python bench/line_vs_cuts.py [--pages DIR] [--images DIR] [--line-model PATH] [--json OUT]

Each page's text is scored against NAME.gt.txt with ocrkit.metrics.error_rates,
case-insensitive and case-sensitive, each page's CER capped at 1.0; categories (pages.tsv)
and the whole set are character-weighted, as bench/pages.py does (the two mostly printed pages
get a row of their own). The course photos (DATA/images) are a row of their own. "routed" is
the cuts' text for a page the line model reads as written in capitals (ocrkit.lines.in_capitals,
the pipeline's page_case rule) and the line model's otherwise. Seconds are each method's whole read of a page in this one process (the
models loaded once before).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np

from pages import PRINTED, score           # bench/pages.py: the same scoring as make pages

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OCRKIT_DATA", str(ROOT.parent / "shared" / "data")))


def line_crops(path):
    """The ink of each line the page pipeline finds, as one crop per line
    (ocrkit.lines.line_crops, as `ocrkit ocr --recognizer line` reads them)."""
    from ocrkit.lines import line_crops as crops_of
    from ocrkit.page.clean import clean
    from ocrkit.page.image import as_page_array, load_page
    from ocrkit.page.segment import segment
    image, _ = load_page(path)
    cleaned = clean(as_page_array(image))
    lines, atoms = segment(cleaned.mask, cleaned.height, cleaned.stroke)
    return crops_of(cleaned, lines, atoms)[0]


def read_by_lines(path, model, rules: bool = True) -> tuple[str, bool]:
    """The page read line by line (with `rules`, after the pipeline's look-alike and page
    case rules, as the Reader applies them to the cuts: ocrkit.lines.page_text), and whether
    it reads as a page in capitals."""
    from ocrkit.lines import in_capitals, page_text, read_lines
    readings = read_lines(line_crops(path), model)
    text = page_text(readings, model) if rules else \
        "\n".join(r.text for r in readings if r.text)
    return text, in_capitals(readings)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=str(DATA / "pages"))
    ap.add_argument("--images", default=str(DATA / "images"),
                    help="folder of the course photos (*.jpg with .gt.txt)")
    ap.add_argument("--line-model", default=None, help="default: models/line.pkl")
    ap.add_argument("--model", default=None, help="the cuts' character model (default: the "
                    "shipped default model)")
    ap.add_argument("--only", default="", help="comma-separated page names")
    ap.add_argument("--no-rules", dest="rules", action="store_false",
                    help="the line model's text as it reads it, without the pipeline's "
                    "look-alike and page case rules")
    ap.add_argument("--json", default=str(ROOT / "out" / "line_vs_cuts.json"))
    args = ap.parse_args()
    from ocrkit import Reader
    from ocrkit.lines import load_line_model
    reader, line_model = Reader(args.model), load_line_model(args.line_model)

    pages = Path(args.pages)
    todo = [(pages / r["name"], r["category"])
            for r in csv.DictReader(open(pages / "pages.tsv"), delimiter="\t")]
    todo += [(p, "course_photos") for p in sorted(Path(args.images).glob("*.jpg"))]
    if args.only:
        todo = [(p, c) for p, c in todo if p.stem in args.only.split(",")]
    results = []
    print(f"{'page':24} {'category':14} {'chars':>5}   {'cuts CER':>15} {'line CER':>15} "
          f"{'routed':>7}   {'cuts s':>6} {'line s':>6}")
    print(f"{'':24} {'':14} {'':5}   {'(any case, cased)':>15} {'(any case, cased)':>15}")
    for path, category in todo:
        truth = path.with_name(path.stem + ".gt.txt").read_text(encoding="utf-8-sig")
        rec = {"page": path.stem, "category": category}
        t = time.perf_counter()
        page = reader.read(path)
        texts = {"cuts": (page.text, time.perf_counter() - t)}
        t = time.perf_counter()
        text, capitals = read_by_lines(path, line_model, args.rules)
        texts["line"] = (text, time.perf_counter() - t)
        # routed: the cuts for a page the line model reads as capitals, else the line model
        texts["routed"] = texts["cuts" if capitals else "line"]
        for name, (text, seconds) in texts.items():
            errors, n = score(text, truth, False)
            rec[name] = {"text": text, "seconds": seconds, "errors": errors, "n": n,
                         "errors_cased": score(text, truth, True)[0]}
        results.append(rec)
        c, li, ro = rec["cuts"], rec["line"], rec["routed"]
        print(f"{path.stem:24} {category:14} {c['n']:5d}   "
              f"{100 * c['errors'] / c['n']:6.1f}% {100 * c['errors_cased'] / c['n']:6.1f}%  "
              f"{100 * li['errors'] / li['n']:6.1f}% {100 * li['errors_cased'] / li['n']:6.1f}% "
              f"{100 * ro['errors'] / ro['n']:6.1f}%   {c['seconds']:6.2f} {li['seconds']:6.2f}",
              flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    report(results)


def report(results):
    def cer(rs, method, key="errors"):
        return 100 * sum(r[method][key] for r in rs) / max(sum(r[method]["n"] for r in rs), 1)

    groups = {}
    for r in results:
        groups.setdefault("printed" if r["page"] in PRINTED else r["category"], []).append(r)
    hand = [r for r in results if r["page"] not in PRINTED and r["category"] != "course_photos"]
    rows = sorted(groups.items())
    if hand:
        rows.append(("handwritten", hand))
    print()
    print(f"{'category':16} {'pages':>5} {'chars':>5}   {'cuts':>7} {'line':>7} {'routed':>7}   "
          f"{'cuts cased':>10} {'line cased':>10}   {'cuts s':>6} {'line s':>6}")
    for name, rs in rows:
        print(f"{name:16} {len(rs):5d} {sum(r['cuts']['n'] for r in rs):5d}   "
              f"{cer(rs, 'cuts'):6.1f}% {cer(rs, 'line'):6.1f}% {cer(rs, 'routed'):6.1f}%   "
              f"{cer(rs, 'cuts', 'errors_cased'):9.1f}% {cer(rs, 'line', 'errors_cased'):9.1f}%   "
              f"{np.mean([r['cuts']['seconds'] for r in rs]):6.2f} "
              f"{np.mean([r['line']['seconds'] for r in rs]):6.2f}")
    cased = [r for r in hand if r["category"].startswith(("mixed", "lower"))]
    if cased:
        print(f"case-sensitive CER on the {len(cased)} mixed- and lower-case pages: cuts "
              f"{cer(cased, 'cuts', 'errors_cased'):.1f}%, line "
              f"{cer(cased, 'line', 'errors_cased'):.1f}%")
    total = {m: sum(r[m]["seconds"] for r in results) for m in ("cuts", "line")}
    print(f"seconds over all pages: cuts {total['cuts']:.1f}, line {total['line']:.1f} "
          f"(line / cuts {total['line'] / max(total['cuts'], 1e-9):.2f}); "
          f"load average {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
