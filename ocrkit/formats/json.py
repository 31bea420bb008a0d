"""ocrkit's JSON: a list of pages, each lines -> words -> characters with boxes (x0, y0, x1,
y1) in image pixels, confidences, the top-3 alternatives, and the steps that read the page."""
from __future__ import annotations

import dataclasses
import json


def as_dict(page) -> dict:
    """One page as plain data (what `--format json` prints for it)."""
    out = {
        "file": page.path, "width": page.size[0], "height": page.size[1], "text": page.text,
        "lines": [{
            "text": line.text, "box": list(line.box),
            **({"baseline": [list(p) for p in line.baseline]} if line.baseline else {}),
            "words": [{
                "text": w.text, "box": list(w.box), "confidence": round(w.confidence, 4),
                "chars": [{"label": c.label, "box": list(c.box),
                           "confidence": round(c.confidence, 4),
                           "alternatives": [[a, round(p, 4)] for a, p in c.alternatives]}
                          for c in w.chars]}
                for w in line.words]}
            for line in page.lines],
    }
    if page.steps:
        out["steps"] = [dataclasses.asdict(s) for s in page.steps]
    return out


def write(pages, images=None, extra=None) -> str:
    """The pages as a JSON list; `extra` (one dict per page, e.g. its CER/WER) is merged into
    each page's object."""
    out = [as_dict(p) for p in pages]
    for d, more in zip(out, extra or []):
        d.update(more)
    return json.dumps(out, indent=2) + "\n"
