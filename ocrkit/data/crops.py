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


def save_crops(page, folder, truth: str | None = None, name: str | None = None,
               truth_only: bool = False, keep=None) -> dict:
    """Write every character of `page` as a 32x32 PNG (dark on light, as the model saw it) to
    folder/<label>/<name>-<line>-<n>.png: a class-folder dataset for `ocrkit finetune`.

    Labels that cannot be one folder name inside `folder` ("/", "..", " ": see
    is_folder_name) are left out, so no crop is ever written outside it.

    Each line the OCR read is matched to the first of the next truth lines (in order: the
    LOOKAHEAD after the last match, and one more for each read line since then that matched
    none, a line the OCR misread) it is closer to than half the longer one's length (edit
    distance, spaces and case aside); its characters then take the truth's labels, case as written, where the alignment
    is sure (truth_positions: every cheapest alignment of the line to the truth line pairs the
    crop with the same truth character). Crops it is not sure of (a cut the truth has no
    character for, a misread beside a missed character) and lines without a match keep the
    model's reading, to be checked by hand, or with `truth_only` are not written at all (a
    test set whose every label is the truth's). `keep`: the truth characters whose crops may
    be written, as (line, character) pairs counted from 0 over the truth's non-blank lines and
    each line's characters spaces aside (the handwritten fields of a printed form); crops
    aligned to any other truth character are not written. A reading of the reject class goes
    to folder `~` (REJECT), which fine-tuning maps back onto that class. Lower and upper case
    need a case-sensitive file system (an error otherwise). Returns {"written": n,
    "from_truth": n, "unsure": n} (unsure: crops the truth did not label, written or not).
    """
    from PIL import Image
    folder = Path(folder)
    expected = ["".join(t.split()) for t in truth.splitlines() if t.strip()] if truth else []
    name = name or Path(page.path).stem or "page"
    if not is_folder_name(name):
        raise OcrkitError(f"{name!r}: not a file name for crops")
    written = from_truth = unsure = 0
    next_truth = 0
    made = set()
    unmatched = 0               # read lines since the last match: each may be a truth line
    for n, line in enumerate(page.lines):
        chars = [c for w in line.words for c in w.chars]
        read = "".join(c.label for c in chars)
        known, t = [None] * len(chars), None
        for t in range(next_truth, min(next_truth + LOOKAHEAD + unmatched, len(expected))):
            cand = expected[t]
            if 2 * edit_distance(read.upper(), cand.upper()) < max(len(read), len(cand)):
                known, next_truth, unmatched = truth_positions(read, cand), t + 1, 0
                break
        else:
            unmatched += 1
        for k, c in enumerate(chars):
            use_truth = known[k] is not None
            unsure += not use_truth
            if truth_only and not use_truth:
                continue
            if use_truth and keep is not None and (t, known[k]) not in keep:
                continue
            label = expected[t][known[k]] if use_truth else c.label
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
    return {"written": written, "from_truth": from_truth, "unsure": unsure}


def edit_distance(a: str, b: str) -> int:
    from ocrkit.metrics import edit_distance as distance
    return distance(a, b)


def truth_labels(read: str, truth: str) -> list:
    """Per character of `read`, the character of `truth` it stands for, or None where that is
    not sure (truth_positions).

    "HEXYO" against "HELLO" labels all five (X and Y can only be the two Ls); "HELOX" against
    "HELLO" labels H, E, L only: the O may be the missed L or the O, the X the O or a cut the
    truth has no character for, at the same cost.
    """
    return [None if j is None else truth[j] for j in truth_positions(read, truth)]


def truth_positions(read: str, truth: str) -> list:
    """Per character of `read`, the position in `truth` of the character it stands for, or
    None where that is not sure: a position is given only when every cheapest alignment (edit
    distance, case folded) pairs the character with a truth character, always the same one
    (or one of the same letter: "HELO" against "HELLO" gives its L the first L)."""
    a = np.array([ord(c) for c in read.upper()], np.int64)
    b = np.array([ord(c) for c in truth.upper()], np.int64)
    fwd = _distances(a, b)                          # fwd[i, j]: a[:i] against b[:j]
    bwd = _distances(a[::-1], b[::-1])[::-1, ::-1]  # bwd[i, j]: a[i:] against b[j:]
    best = fwd[-1, -1]
    differ = (a[:, None] != b[None, :]).astype(np.int64)
    paired = fwd[:-1, :-1] + differ + bwd[1:, 1:] == best          # (n, m): a[i] as b[j]
    dropped = (fwd[:-1, :] + 1 + bwd[1:, :] == best).any(axis=1)   # a[i] matches nothing
    positions = []
    for i in range(len(a)):
        js = np.flatnonzero(paired[i])
        sure = len(js) and not dropped[i] and len({truth[j] for j in js}) == 1
        positions.append(int(js[0]) if sure else None)
    return positions


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The (len(a)+1, len(b)+1) edit-distance table of a[:i] against b[:j], row by row (the
    within-row insertions by a running minimum)."""
    n, m = len(a), len(b)
    table = np.empty((n + 1, m + 1), np.int64)
    table[0] = np.arange(m + 1)
    steps = np.arange(m + 1)
    for i in range(n):
        row = np.empty(m + 1, np.int64)
        row[0] = i + 1
        row[1:] = np.minimum(table[i, :-1] + (a[i] != b), table[i, 1:] + 1)
        table[i + 1] = np.minimum.accumulate(row - steps) + steps
    return table


def is_folder_name(label: str) -> bool:
    """Whether a label (a model's class name, a character of the truth) can name a folder
    of its own inside another: one printable path component, never "." or "..", so a path
    built from it cannot leave its folder."""
    return (bool(label) and label.strip() == label and label.isprintable()
            and label not in (".", "..") and not any(c in label for c in "/\\\0")
            and len(label.encode("utf-8", "surrogatepass")) <= 255)
