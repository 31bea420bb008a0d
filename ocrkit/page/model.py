"""The one page model: Page -> Line -> Word -> Char, used by every stage and every format.

One box convention everywhere: `box = (x0, y0, x1, y1)` in pixels of the image as the user
gave it (upright after EXIF orientation, at its full resolution), x1 and y1 exclusive. Every
level has a `confidence` in [0, 1]. The stages that made a page and their settings are kept in
`Page.steps` (as kraken's ProcessingStep), so `--format json` and ALTO's processing metadata
can show how a page was read.

    page.text                       # one line per written line, single spaces between words
    page.chars                      # every character, in reading order
    dataclasses.asdict(page)        # plain data (the crops excepted: see Char.image)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple  # (x0, y0, x1, y1) ints, image pixels, x1/y1 exclusive


def union(boxes) -> Box:
    """The smallest box holding every box of `boxes` (a non-empty sequence of boxes)."""
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    return (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))


@dataclass
class Char:
    """One character read: `label` the text (one class of the model), `box` its ink,
    `confidence` the probability it is right, `alternatives` [(label, probability)] best
    first (top 3; the first is `label`), `image` the canonical 32x32 crop the model saw."""

    label: str
    box: Box
    confidence: float
    alternatives: list = field(default_factory=list)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class Word:
    chars: list

    @property
    def text(self) -> str:
        return "".join(c.label for c in self.chars)

    @property
    def box(self) -> Box:
        return union([c.box for c in self.chars])

    @property
    def confidence(self) -> float:
        return float(min(c.confidence for c in self.chars))


@dataclass
class Line:
    """A written line; `baseline` ((x0, y0), (x1, y1)) in image pixels where it was measured."""

    words: list
    baseline: tuple | None = None

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box:
        return union([w.box for w in self.words])

    @property
    def chars(self) -> list:
        return [c for w in self.words for c in w.chars]

    @property
    def confidence(self) -> float:
        return float(min(w.confidence for w in self.words))


@dataclass
class ProcessingStep:
    """One stage that touched the page: `id` (e.g. "clean"), `category` ("preprocessing",
    "processing"), a one-line `description` and the `settings` it ran with (plain data)."""

    id: str
    category: str
    description: str
    settings: dict = field(default_factory=dict)


@dataclass
class Page:
    """A page read: `path` of the image ("" for an array), `size` (width, height) in pixels."""

    path: str
    size: tuple
    lines: list = field(default_factory=list)
    steps: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def words(self) -> list:
        return [w for line in self.lines for w in line.words]

    @property
    def chars(self) -> list:
        return [c for line in self.lines for c in line.chars]
