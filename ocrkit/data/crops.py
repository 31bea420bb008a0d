"""A read page's characters as a class-folder dataset (for `ocrkit finetune`).

    save_crops(page, "mine/", truth=open("page.gt.txt").read())   # mine/<label>/*.png
"""
from __future__ import annotations

import os
from pathlib import Path

import io

import numpy as np

from ocrkit.errors import OcrkitError
from ocrkit.files import atomic_write

LOOKAHEAD = 3     # truth lines a read line may skip ahead to (lines the OCR missed)


def save_crops(page, folder, truth: str | None = None, name: str | None = None) -> dict:
    """Write every character of `page` as a 32x32 PNG (dark on light, as the model saw it) to
    folder/<label>/<name>-<line>-<n>.png: a class-folder dataset for `ocrkit finetune`.

    Labels that cannot be one folder name inside `folder` ("/", "..", " ": see
    is_folder_name) are left out, so no crop is ever written outside it.

    Each line the OCR read is matched to one of the next LOOKAHEAD truth lines (in order)
    with as many characters (spaces aside) that agrees with the reading (case aside) on more
    than half of them; its characters take the truth's labels, case as written. Lines without
    such a match keep the model's reading, to be checked by hand; a reading of the reject
    class goes to folder `~` (REJECT), which fine-tuning maps back onto that class. Lower and
    upper case need a case-sensitive file system (an error otherwise). Returns
    {"written": n, "from_truth": n}.
    """
    from PIL import Image
    folder = Path(folder)
    expected = ["".join(t.split()) for t in truth.splitlines() if t.strip()] if truth else []
    name = name or Path(page.path).stem or "page"
    if not is_folder_name(name):
        raise OcrkitError(f"{name!r}: not a file name for crops")
    written = from_truth = 0
    next_truth = 0
    made = set()
    for n, line in enumerate(page.lines):
        chars = [c for w in line.words for c in w.chars]
        read = "".join(c.label for c in chars)
        known = ""
        for t in range(next_truth, min(next_truth + LOOKAHEAD, len(expected))):
            cand = expected[t]
            agree = sum(a == b for a, b in zip(cand.upper(), read.upper()))
            if len(cand) == len(read) and 2 * agree > len(read):
                known, next_truth = cand, t + 1
                break
        use_truth = bool(known)
        for k, c in enumerate(chars):
            label = known[k] if use_truth else c.label
            if not is_folder_name(label):
                continue                        # "/", "..", a space: no folder of its own
            target = folder / label / f"{name}-{n + 1:03d}-{k + 1:03d}.png"
            png = io.BytesIO()
            Image.fromarray(np.round((1 - c.image) * 255).astype(np.uint8)).save(png, "PNG")
            try:
                if label not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(label)
                    if label not in os.listdir(folder):     # a and A are one folder here
                        raise OcrkitError(
                            f"{folder}: this file system does not tell upper- from lower-case "
                            f"folder names, so '{label}' cannot have a class folder of its "
                            "own; write the crops to a case-sensitive file system")
            except OSError as exc:
                raise OcrkitError(f"{target}: cannot write crop ({exc.strerror or exc})") \
                    from None
            atomic_write(target, png.getvalue(), what="crop")
            written += 1
            from_truth += use_truth
    return {"written": written, "from_truth": from_truth}


def is_folder_name(label: str) -> bool:
    """Whether a label (a model's class name, a character of the truth) can name a folder
    of its own inside another: one printable path component, never "." or "..", so a path
    built from it cannot leave its folder."""
    return (bool(label) and label.strip() == label and label.isprintable()
            and label not in (".", "..") and not any(c in label for c in "/\\\0")
            and len(label.encode("utf-8", "surrogatepass")) <= 255)
