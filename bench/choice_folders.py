"""Unpack the Choice handwriting dataset into class folders named by character.

    python bench/choice_folders.py ../shared/data/other/choice-dataset-v0.3 out/choice

V0.3.zip holds data/<i>/ folders of 28x28 grey images (and data-bin/, binarised copies,
left out), folder i being line i of label.txt
(0-9, a-z, A-Z). This writes OUT/upper/<A..Z>/ and OUT/lower/<a..z>/ (copies of the images),
folders `ocrkit train`/`finetune` read directly. Mostly cursive, so unlike anything in EMNIST:
the out-of-domain set of the fine-tuning demonstration (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def unpack(source: Path, out: Path) -> dict:
    labels = (source / "label.txt").read_text().split()
    counts: dict = {}       # label -> its folder
    with zipfile.ZipFile(source / "V0.3.zip") as z:
        for info in z.infolist():
            parts = Path(info.filename).parts
            if (info.is_dir() or len(parts) < 3 or parts[-3] != "data"      # not data-bin/
                    or parts[-2] not in map(str, range(len(labels)))):
                continue
            label = labels[int(parts[-2])]
            if not label.isalpha():
                continue
            folder = out / ("upper" if label.isupper() else "lower") / label
            folder.mkdir(parents=True, exist_ok=True)
            (folder / parts[-1]).write_bytes(z.read(info))
            counts[label] = folder
    return {label: len(list(folder.iterdir())) for label, folder in counts.items()}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    counts = unpack(Path(sys.argv[1]), Path(sys.argv[2]))
    upper = sum(n for c, n in counts.items() if c.isupper())
    print(f"{upper} upper-case and {sum(counts.values()) - upper} lower-case images "
          f"in {sys.argv[2]}/upper and {sys.argv[2]}/lower")
