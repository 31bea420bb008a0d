"""`make crops`: the real-page crops dev set, class folders of photographed characters.

    python bench/crops_set.py [--data ../shared/data] [-o out/crops] [--upper36 out/crops36]

Every page of DATA/pages (pages.tsv, less LEFT_OUT) and the two course photos DATA/images/*.jpg
is read by `ocrkit.Reader()` with the shipped defaults (what `ocrkit ocr` does), and each
character crop the page pipeline cut is written as the 32x32 PNG the model saw, to
OUT/<label>/<page>-<line>-<n>.png, labelled by the page's truth (ocrkit.data.crops.save_crops
with truth_only: a crop is written only when its read line aligns with a truth line and every
cheapest alignment gives the crop the same truth character; no label ever comes from the
model). So the set is "what the page pipeline cuts, labelled by truth alignment": it moves
with the segmentation, the cut choices (made by the default character model) and the line
model, and it leaves out what the pipeline did not cut as one character (touching letters it
could not split, lines it read too far from the truth to align).

Printed text is left out: nist_hsf_page entirely (LEFT_OUT says why), and on the other forms
only the truth words in HANDWRITTEN are written (by position in the truth, so no truth text
is copied here). The output folder is made anew each run; OUT.tsv beside it lists each page's
counts and the run's inputs (model checksums, commit).

--upper36 also makes a folder of links to OUT's digit and capital classes: the part of the
set a 36-class model (default36.pkl) knows.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGITS_CAPS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Pages left out of the set, and why.
LEFT_OUT = {
    "nist_hsf_page": "about 60% of its truth is the printed form, and each handwritten line of "
                     "boxes follows a printed prompt with the same text, so a read line "
                     "cannot be told from its printed twin by aligning it to the truth",
}
# Pages with printed text in their truth: the handwritten words, {truth line: word numbers}
# (both from 1, lines as in NAME.gt.txt, words split at spaces); None: the whole line. The
# lines not named are printed. Checked against the images.
HANDWRITTEN = {
    # the patient intake form: printed labels, filled in block capitals and digits
    "aws_intake_form": {2: (3, 6, 10, 11, 12), 3: (2, 5), 4: (2, 3, 4, 6), 5: (2, 5, 7, 8, 9),
                        7: (3, 6), 8: (2, 3, 4, 8), 10: (3, 6), 11: (2, 3, 4, 8)},
    # the exam cover: printed "First Name:" etc., the name and number in boxes
    "markus_form_boxes": {1: (3,), 2: (3,), 3: (3,)},
    # the notebook: the printed logo and Date/Page fields above the writing
    "sampath_best_of_times": {4: None, 5: None, 6: None, 7: None, 8: None},
}


def pages(data: Path) -> list[tuple[Path, Path, str]]:
    """(image, truth, category) of every page in the set, in a fixed order."""
    found = []
    with open(data / "pages" / "pages.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            image = data / "pages" / row["name"]
            if image.stem not in LEFT_OUT:
                found.append((image, image.with_suffix(".gt.txt"), row["category"]))
    for image in sorted((data / "images").glob("*.jpg")):
        found.append((image, image.with_suffix(".gt.txt"), "course_caps"))
    return found


def keep_set(truth: str, handwritten: dict | None):
    """save_crops' `keep`: the (line, character) positions of the handwritten words, over the
    truth's non-blank lines and each line's characters spaces aside; None keeps all."""
    if handwritten is None:
        return None
    keep = set()
    lines = [t for t in truth.splitlines() if t.strip()]
    numbers = [n + 1 for n, t in enumerate(truth.splitlines()) if t.strip()]
    for index, (number, text) in enumerate(zip(numbers, lines)):
        if number not in handwritten:
            continue
        words, at = text.split(), 0
        for w, word in enumerate(words, 1):
            if handwritten[number] is None or w in handwritten[number]:
                keep.update((index, at + k) for k in range(len(word)))
            at += len(word)
    return keep


def build(data: Path, out: Path, upper36: Path | None = None, model=None,
          recognizer: str = "cuts", quiet=False) -> dict:
    from ocrkit import Reader
    from ocrkit.data.crops import save_crops
    for folder in (out, upper36):
        if folder is None or not folder.exists():
            continue
        if not (folder.is_dir() and all(p.is_dir() or p.is_symlink() for p in folder.iterdir())):
            sys.exit(f"{folder}: not a folder of class folders; not removing it")
        shutil.rmtree(folder)
    out.mkdir(parents=True)
    reader = Reader(model, recognizer=recognizer)
    rows = []
    for image, truth_file, category in pages(data):
        truth = truth_file.read_text(encoding="utf-8-sig")
        page = reader.read(image)
        saved = save_crops(page, out, truth, image.stem, truth_only=True,
                           keep=keep_set(truth, HANDWRITTEN.get(image.stem)))
        rows.append({"page": image.name, "category": category, "read": len(page.chars),
                     "written": saved["written"], "unsure": saved["unsure"]})
        if not quiet:
            print(f"{image.name}: {len(page.chars)} characters read, {saved['written']} "
                  f"written ({saved['unsure']} the truth does not label surely)", flush=True)
    counts = Counter(p.parent.name for p in out.rglob("*.png"))
    if upper36 is not None:
        upper36.mkdir(parents=True)
        for label in sorted(counts):
            if label in DIGITS_CAPS:
                os.symlink(os.path.relpath(out / label, upper36), upper36 / label)
    _write_manifest(out.with_name(out.name + ".tsv"), rows, reader, counts)
    return {"rows": rows, "counts": counts}


def _write_manifest(path: Path, rows, reader, counts) -> None:
    def sha(p):
        return hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    with open(path, "w", encoding="utf-8") as f:
        line = reader.line_model
        f.write(f"# model {reader.model.source} sha256 {sha(reader.model.source)}; "
                f"recognizer {reader.options['recognizer']}"
                + (f"; line model {line.source} sha256 {sha(line.source)}" if line else "")
                + f"; ocrkit {commit}\n")
        f.write("page\tcategory\tread\twritten\tunsure\n")
        for r in rows:
            f.write("\t".join(str(r[k]) for k in ("page", "category", "read", "written",
                                                  "unsure")) + "\n")
        f.write("# per class: " + " ".join(f"{c}:{n}" for c, n in sorted(counts.items()))
                + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "OCRKIT_DATA", ROOT.parent / "shared" / "data")))
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "out" / "crops")
    parser.add_argument("--upper36", type=Path, default=None)
    parser.add_argument("--model", default=None, help="character model [default: the shipped]")
    parser.add_argument("--recognizer", default="cuts", choices=("cuts", "auto", "line"))
    args = parser.parse_args(argv)
    result = build(args.data, args.out, args.upper36, args.model, args.recognizer)
    counts = result["counts"]
    total = sum(counts.values())
    read = sum(r["read"] for r in result["rows"])
    caps = sum(n for c, n in counts.items() if c in DIGITS_CAPS)
    print(f"{total} crops of {read} characters read on {len(result['rows'])} pages, in "
          f"{len(counts)} classes ({caps} digits and capitals) in {args.out}")
    print("per class: " + " ".join(f"{c} {n}" for c, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
