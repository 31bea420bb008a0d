"""Procedural hand-printed characters: the `synth` (0-9, A-Z) and `synth62` (0-9, A-Z, a-z)
datasets, no download needed.

    x = render_characters(np.array([0, 26]), np.random.default_rng(0))   # 'A', '0': (2, 32, 32)
    x = render_characters([36, 61], rng, BYCLASS)                          # 'a', 'z'
    train = synth_dataset(36_000, "train", seed=0)                          # balanced Dataset
    train62 = synth_dataset(62_000, "train", name="synth62")               # EMNIST ByClass order

Every character is one of a few stroke skeletons (variants) drawn in a unit box: x to the right,
y down, a capital 1 high (cap top 0, baseline 1). Lower case is drawn in the same frame at its
true size: x-height 0.6 (from X_TOP = 0.4 down to the baseline), ascenders up to about 0,
descenders down to about 1.38; pages draw it so, while canonical characters scale each glyph to
its own box, as EMNIST does. Strokes are SVG-like paths of lines and Bezier curves, so
every point drawn is a fixed linear combination of a few control points: a whole batch is
`basis @ control_points` (N, K, J) @ (N, J, 2), with jitter added to the control points (shared
corners move together), then a smooth elastic displacement, slant, rotation and aspect, all
vectorised. The pen is a Gaussian splatted at points spaced under a pixel apart, weighted by the
arc length each point stands for, so the summed field is a ridge of constant height along every
stroke; `clip(gain * field)` gives a flat-topped stroke of a chosen width with soft edges and
round ends. The splat is separable, one batched matmul: (N, 32, K) @ (N, K, 32).

Canonical output matches what EMNIST looks like padded to 32x32: the longer side of the ink is
about 22 px (20-24), strokes about 3.2 px wide (2.3-4.7), centred by the bounding box, peak 1.
"""
from __future__ import annotations

import re
import string
from functools import lru_cache

import numpy as np

from ocrkit.data.dataset import BYCLASS, NIST36, SIZE, Dataset

SPACING = 0.04          # distance between drawn points, in character heights
CHUNK = 512             # characters rendered per batch
MAX_STROKES = 8         # strokes per variant at most
SLANT_MEAN = 10.0       # degrees, top to the right: most writers lean right
#: the characters of the synth datasets, in the order of the compiled table: NIST36 first (so
#: a NIST36 index is a table index), then a-z
CLASSES = NIST36 + tuple(string.ascii_lowercase)
#: punctuation marks with skeletons (for the line model's composed lines, ocrkit.data.lines;
#: drawn at their true size only, `render_characters(..., true_size=True)`)
PUNCTUATION = tuple(".,:;'\"()[]{}<>/-=+#!?")
#: everything the compiled table holds: CLASSES, then PUNCTUATION
DRAWN = CLASSES + PUNCTUATION
SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
ALL_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}


# -- the skeletons -------------------------------------------------------------------------------

def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, move: bool = True
        ) -> str:
    """An elliptic arc from angle a0 to a1 (degrees; y down, so 90 is the bottom) as a path of
    cubic Beziers, each at most 90 degrees; `move` starts a new stroke at its first point."""
    n = max(1, int(np.ceil(abs(a1 - a0) / 90 - 1e-9)))
    t = np.radians(np.linspace(a0, a1, n + 1))
    k = 4 / 3 * np.tan((t[1] - t[0]) / 4)
    pt = lambda a: (cx + rx * np.cos(a), cy + ry * np.sin(a))             # noqa: E731
    tangent = lambda a: (-rx * np.sin(a), ry * np.cos(a))                  # noqa: E731
    x, y = pt(t[0])
    out = [f"M {x:.3f} {y:.3f}"] if move else []
    for a, b in zip(t[:-1], t[1:]):
        (x0, y0), (x3, y3) = pt(a), pt(b)
        (dx0, dy0), (dx3, dy3) = tangent(a), tangent(b)
        out.append(f"C {x0 + k * dx0:.3f} {y0 + k * dy0:.3f} {x3 - k * dx3:.3f} "
                   f"{y3 - k * dy3:.3f} {x3:.3f} {y3:.3f}")
    return " ".join(out)


_P_TOP = "M 0 1 L 0 0 L 0.36 0 C 0.74 0 0.74 0.52 0.36 0.52 L 0 0.52"
_O = arc(0.4, 0.5, 0.4, 0.5, -100, 270)
X_TOP = 0.4             # top of the lower-case x-height in skeleton units (cap top 0, baseline 1)
_BOWL_L = arc(0.27, 0.7, 0.27, 0.3, -20, -340)            # the bowl of a, d, g, q: stem right
_BOWL_R = arc(0.28, 0.7, 0.28, 0.3, -165, 165)            # the bowl of b, p: stem left


def _dot(x: float) -> str:
    """The dot of i and j above a stem at x: a tiny loop, so that it holds as much ink as a
    pen's dab (a short line would hold too little to show on a 32x32 character)."""
    return " " + arc(x, 0.17, 0.03, 0.03, 0, 360)

#: char -> [(weight, path)]: the stroke skeletons. Paths: `M x y` starts a stroke, `L x y` a
#: line, `Q cx cy x y` and `C c1x c1y c2x c2y x y` Bezier curves; a point that appears twice
#: in a variant (a shared corner) is one control point and jitters as one.
GLYPHS: dict[str, list[tuple[float, str]]] = {
    "A": [(3, "M 0 1 L 0.4 0 L 0.8 1 M 0.16 0.62 L 0.64 0.62"),
          (1, "M 0 1 L 0.3 0 L 0.6 1 M 0.02 0.6 L 0.7 0.58"),
          (1, "M 0 1 L 0.35 0 L 0.45 0 L 0.8 1 M 0.18 0.55 L 0.62 0.55")],
    "B": [(2, "M 0 0 L 0 1 M 0 0 L 0.34 0 C 0.68 0 0.68 0.47 0.34 0.47 L 0 0.47 "
              "M 0.34 0.47 C 0.78 0.47 0.78 1 0.34 1 L 0 1"),
          (1, "M 0 1 L 0 0 L 0.3 0 C 0.65 0 0.65 0.47 0.3 0.47 C 0.8 0.47 0.8 1 0.3 1 L 0 1")],
    "C": [(3, arc(0.4, 0.5, 0.4, 0.5, -40, -320)),
          (1, arc(0.38, 0.5, 0.38, 0.5, -55, -300))],
    "D": [(2, "M 0 0 L 0 1 M 0 0 L 0.28 0 C 0.8 0 0.8 1 0.28 1 L 0 1"),
          (1, "M 0 1 L 0 0 C 0.95 0 0.95 1 0 1")],
    "E": [(3, "M 0.65 0 L 0 0 L 0 1 L 0.65 1 M 0 0.5 L 0.5 0.5"),
          (1, "M 0 0 L 0 1 M 0 0 L 0.62 0 M 0 0.5 L 0.5 0.5 M 0 1 L 0.65 1")],
    "F": [(3, "M 0.65 0 L 0 0 L 0 1 M 0 0.48 L 0.5 0.48"),
          (1, "M 0.7 0.08 C 0.5 -0.04 0.25 -0.04 0.25 0.2 L 0.25 1 M 0 0.5 L 0.55 0.5"),
          (1, "M 0 0 L 0 1 M 0 0 L 0.65 0 M 0 0.5 L 0.45 0.5")],
    "G": [(2, arc(0.4, 0.5, 0.4, 0.5, -40, -315) + " L 0.72 0.55 L 0.45 0.55"),
          (2, arc(0.4, 0.5, 0.4, 0.5, -40, -360) + " L 0.45 0.5"),
          (1, arc(0.4, 0.5, 0.4, 0.5, -40, -320) + " L 0.74 0.58 M 0.42 0.58 L 0.78 0.58")],
    "H": [(1, "M 0 0 L 0 1 M 0.7 0 L 0.7 1 M 0 0.5 L 0.7 0.5")],
    "I": [(1, "M 0 0 L 0.5 0 M 0.25 0 L 0.25 1 M 0 1 L 0.5 1"),
          (1, "M 0 0 L 0.8 0 M 0.4 0 L 0.4 1 M 0 1 L 0.8 1"),
          (1, "M 0.25 0 L 0.25 1")],
    "J": [(1, "M 0.55 0 L 0.55 0.7 C 0.55 1.05 0.05 1.05 0 0.72"),
          (1, "M 0.15 0 L 0.85 0 M 0.55 0 L 0.55 0.72 C 0.55 1.05 0.05 1.05 0 0.72")],
    "K": [(2, "M 0 0 L 0 1 M 0.65 0 L 0 0.55 M 0.2 0.42 L 0.7 1"),
          (2, "M 0 0 L 0 1 M 0.65 0 L 0 0.52 L 0.7 1")],
    "L": [(1, "M 0 0 L 0 1 L 0.6 1")],
    "M": [(2, "M 0 1 L 0.05 0 L 0.42 0.68 L 0.8 0 L 0.85 1"),
          (1, "M 0 1 L 0 0 L 0.4 1 L 0.8 0 L 0.8 1"),
          (1, "M 0 1 L 0 0 L 0.4 0.6 L 0.8 0 L 0.8 1"),
          (1, "M 0 1 L 0 0.1 C 0.05 -0.1 0.45 -0.1 0.45 0.2 L 0.45 1 M 0.45 0.2 "
              "C 0.5 -0.1 0.9 -0.1 0.9 0.2 L 0.9 1")],
    "N": [(1, "M 0 1 L 0 0 L 0.7 1 L 0.7 0")],
    "O": [(2, _O), (1, arc(0.42, 0.5, 0.42, 0.5, -80, 300))],
    "P": [(2, _P_TOP), (1, "M 0 0 L 0 1 M 0 0 L 0.36 0 C 0.74 0 0.74 0.5 0.36 0.5 L 0 0.5")],
    "Q": [(2, _O + " M 0.48 0.72 L 0.85 1.05"), (1, _O + " M 0.55 0.85 L 0.8 1.05"),
          (1, arc(0.42, 0.5, 0.42, 0.5, -90, 230) + " L 0.9 1.05")],
    "R": [(2, _P_TOP + " M 0.3 0.52 L 0.72 1"), (2, _P_TOP + " L 0.72 1"),
          (1, "M 0 0 L 0 1 M 0 0.05 C 0.3 -0.05 0.72 0 0.7 0.25 C 0.68 0.48 0.3 0.52 0.1 0.5 "
              "L 0.72 1")],
    "S": [(1, "M 0.66 0.12 C 0.5 -0.06 0.04 -0.04 0.04 0.24 C 0.04 0.5 0.66 0.44 0.66 0.74 "
              "C 0.66 1.06 0.12 1.05 0 0.84")],
    "T": [(1, "M 0 0 L 0.8 0 M 0.4 0 L 0.4 1")],
    "U": [(3, "M 0 0 L 0 0.68 C 0 1.06 0.7 1.06 0.7 0.68 L 0.7 0"),
          (1, "M 0 0 L 0 0.68 C 0 1.06 0.7 1.06 0.7 0.68 L 0.7 0 M 0.7 0.68 L 0.72 1")],
    "V": [(1, "M 0 0 L 0.4 1 L 0.8 0")],
    "W": [(2, "M 0 0 L 0.25 1 L 0.5 0.3 L 0.75 1 L 1 0"),
          (1, "M 0 0 L 0.22 1 L 0.5 0 L 0.78 1 L 1 0"),
          (1, "M 0 0 L 0 0.75 C 0 1.08 0.45 1.08 0.45 0.75 L 0.45 0.3 M 0.45 0.75 "
              "C 0.45 1.08 0.9 1.08 0.9 0.75 L 0.9 0")],
    "X": [(1, "M 0 0 L 0.72 1 M 0.72 0 L 0 1")],
    "Y": [(3, "M 0 0 L 0.4 0.5 L 0.8 0 M 0.4 0.5 L 0.4 1"),
          (1, "M 0 0 L 0.4 0.5 M 0.8 0 L 0.1 1")],
    "Z": [(3, "M 0 0 L 0.7 0 L 0 1 L 0.75 1"),
          (1, "M 0 0 L 0.7 0 L 0 1 L 0.75 1 M 0.15 0.5 L 0.6 0.5")],
    "0": [(3, arc(0.27, 0.5, 0.27, 0.5, -100, 265)),
          (1, arc(0.27, 0.5, 0.27, 0.5, -80, 290))],
    "1": [(3, "M 0.3 0 L 0.3 1"),
          (2, "M 0 0.22 L 0.3 0 L 0.3 1"),
          (1, "M 0 0.22 L 0.3 0 L 0.3 1 M 0.02 1 L 0.58 1")],
    "2": [(3, "M 0.04 0.24 C 0.12 -0.08 0.68 -0.08 0.64 0.3 C 0.6 0.56 0.2 0.74 0 1 L 0.72 1"),
          (1, "M 0.04 0.24 C 0.12 -0.08 0.68 -0.08 0.64 0.3 C 0.6 0.56 0.2 0.74 0.05 0.92 "
              "C -0.05 1.05 0.3 1.02 0.2 0.9 C 0.35 0.95 0.5 1 0.72 1"),
          (1, "M 0.04 0.22 C 0.15 -0.06 0.66 -0.06 0.64 0.28 C 0.62 0.55 0.1 0.9 0.02 1 "
              "C 0.25 0.92 0.5 0.96 0.72 1")],
    "3": [(3, "M 0.04 0.12 C 0.3 -0.06 0.72 -0.02 0.62 0.24 C 0.56 0.42 0.36 0.47 0.26 0.47 "
              "C 0.62 0.47 0.76 0.62 0.68 0.8 C 0.58 1.04 0.16 1.04 0 0.88"),
          (1, "M 0 0 L 0.62 0 L 0.24 0.42 C 0.8 0.38 0.82 1.04 0.3 1.0 "
              "C 0.16 1.0 0.06 0.95 0 0.88")],
    "4": [(2, "M 0.5 1 L 0.5 0 L 0 0.68 L 0.7 0.68"),
          (2, "M 0.1 0 L 0 0.62 L 0.7 0.62 M 0.52 0.28 L 0.52 1"),
          (1, "M 0.1 0 L 0 0.62 L 0.7 0.62 M 0.5 0 L 0.5 1")],
    "5": [(1, "M 0.12 0 L 0.06 0.44 C 0.3 0.3 0.7 0.36 0.68 0.68 C 0.66 1.04 0.2 1.04 0 0.88 "
              "M 0.14 0.02 L 0.6 0"),
          (2, "M 0.66 0 L 0.1 0 L 0.06 0.44 C 0.3 0.3 0.7 0.34 0.7 0.68 "
              "C 0.7 1.06 0.2 1.06 0 0.86"),
          (1, "M 0.1 0 L 0.06 0.44 C 0.3 0.3 0.7 0.34 0.7 0.68 C 0.7 1.06 0.2 1.06 0 0.86 "
              "M 0.1 0 L 0.66 0")],
    "6": [(2, "M 0.56 0 C 0.22 0.12 0.02 0.46 0.04 0.72 C 0.06 1.04 0.62 1.06 0.63 0.76 "
              "C 0.64 0.5 0.2 0.48 0.05 0.7"),
          (2, "M 0.55 0 C 0.25 0.2 0.02 0.5 0.04 0.8 C 0.06 1.03 0.5 1.03 0.5 0.8 "
              "C 0.5 0.58 0.15 0.6 0.05 0.76")],
    "7": [(3, "M 0 0 L 0.7 0 L 0.24 1"),
          (1, "M 0 0 L 0.7 0 L 0.24 1 M 0.2 0.5 L 0.64 0.5"),
          (1, "M 0 0.15 L 0 0 L 0.7 0 L 0.3 1")],
    "8": [(2, arc(0.33, 0.25, 0.26, 0.25, 90, 450) + " " + arc(0.33, 0.73, 0.33, 0.27, -90, 270)),
          (2, "M 0.6 0.14 C 0.5 -0.04 0.06 -0.04 0.08 0.22 C 0.1 0.46 0.66 0.48 0.66 0.76 "
              "C 0.66 1.04 0 1.04 0 0.76 C 0 0.5 0.56 0.44 0.59 0.2 L 0.6 0.14")],
    "9": [(2, arc(0.3, 0.27, 0.3, 0.27, 0, 360) + " M 0.6 0.27 L 0.56 1"),
          (1, arc(0.3, 0.27, 0.3, 0.27, 0, 360) + " M 0.6 0.27 C 0.6 0.7 0.5 1 0.18 1")],
    # lower case, hand-printed (ball and stick), at true size in the capitals' frame: baseline
    # at y = 1, x-height X_TOP (0.6 of the cap height), ascenders up to about 0, descenders to
    # about 1.38. Dots (i, j) are short strokes, as a pen leaves them.
    "a": [(3, _BOWL_L + " M 0.54 0.4 L 0.54 1"),
          (1, _BOWL_L + " M 0.54 0.4 L 0.54 0.92 L 0.62 1"),
          (1, "M 0.06 0.5 C 0.14 0.36 0.5 0.34 0.5 0.56 L 0.5 1 M 0.5 0.66 "
              "C 0.3 0.6 0.02 0.64 0.02 0.83 C 0.02 1.04 0.42 1.02 0.5 0.86")],
    "b": [(3, "M 0 0 L 0 1 " + _BOWL_R), (1, "M 0 0 L 0 1 M 0 0.62 C 0.2 0.36 0.56 0.4 "
                                             "0.56 0.7 C 0.56 1.02 0.2 1.04 0 0.92")],
    "c": [(3, arc(0.27, 0.7, 0.27, 0.3, -40, -320)), (1, arc(0.25, 0.7, 0.25, 0.3, -55, -300))],
    "d": [(3, _BOWL_L + " M 0.54 0 L 0.54 1"), (1, _BOWL_L + " M 0.54 0 L 0.54 0.92 L 0.62 1")],
    "e": [(3, "M 0.03 0.7 L 0.54 0.7 " + arc(0.28, 0.7, 0.26, 0.3, 0, -320, move=False)),
          (1, "M 0.04 0.72 C 0.3 0.74 0.56 0.66 0.5 0.5 C 0.42 0.34 0.02 0.38 0.02 0.7 "
              "C 0.02 1.02 0.36 1.04 0.54 0.9")],
    "f": [(3, "M 0.55 0.06 C 0.42 -0.03 0.18 -0.02 0.18 0.24 L 0.18 1 M 0 0.42 L 0.44 0.42"),
          (1, "M 0.5 0.02 C 0.3 -0.04 0.18 0.08 0.18 0.3 L 0.18 1 M 0.02 0.44 L 0.4 0.4")],
    "g": [(3, _BOWL_L + " M 0.54 0.4 L 0.54 1.2 C 0.54 1.44 0.12 1.44 0.02 1.26"),
          (1, _BOWL_L + " M 0.54 0.4 L 0.54 1.18 C 0.52 1.48 0.02 1.42 0.12 1.24")],
    "h": [(3, "M 0 0 L 0 1 M 0 0.6 C 0.08 0.36 0.5 0.36 0.5 0.6 L 0.5 1"),
          (1, "M 0 0 L 0 1 L 0 0.62 C 0.08 0.36 0.48 0.36 0.5 0.62 L 0.5 1")],
    "i": [(3, "M 0.1 0.4 L 0.1 1" + _dot(0.1)), (1, "M 0 0.42 L 0.1 0.4 L 0.1 1" + _dot(0.1))],
    "j": [(3, "M 0.36 0.4 L 0.36 1.2 C 0.36 1.44 0.06 1.44 0 1.28" + _dot(0.36)),
          (1, "M 0.36 0.4 L 0.36 1.3 C 0.34 1.4 0.2 1.42 0.06 1.36" + _dot(0.36))],
    "k": [(2, "M 0 0 L 0 1 M 0.46 0.4 L 0 0.74 L 0.48 1"),
          (2, "M 0 0 L 0 1 M 0.46 0.4 L 0.02 0.72 M 0.16 0.63 L 0.5 1")],
    "l": [(3, "M 0.1 0 L 0.1 1"), (1, "M 0.1 0 L 0.1 0.88 C 0.1 1 0.24 1.02 0.32 0.94")],
    "m": [(3, "M 0 0.4 L 0 1 M 0 0.6 C 0.04 0.36 0.38 0.36 0.38 0.6 L 0.38 1 M 0.38 0.6 "
              "C 0.42 0.36 0.76 0.36 0.76 0.6 L 0.76 1")],
    "n": [(3, "M 0 0.4 L 0 1 M 0 0.62 C 0.08 0.36 0.5 0.36 0.5 0.62 L 0.5 1"),
          (1, "M 0 0.4 L 0 1 L 0 0.62 C 0.08 0.36 0.5 0.36 0.5 0.62 L 0.5 1")],
    "o": [(3, arc(0.28, 0.7, 0.28, 0.3, -100, 265)), (1, arc(0.28, 0.7, 0.28, 0.3, -80, 290))],
    "p": [(3, "M 0 0.4 L 0 1.38 " + _BOWL_R), (1, "M 0 0.4 L 0 1.38 M 0 0.6 C 0.2 0.36 "
                                                  "0.56 0.4 0.56 0.7 C 0.56 1.02 0.2 1.04 0 0.9")],
    "q": [(3, _BOWL_L + " M 0.54 0.4 L 0.54 1.38"),
          (1, _BOWL_L + " M 0.54 0.4 L 0.54 1.38 L 0.68 1.28")],
    "r": [(3, "M 0 0.4 L 0 1 M 0 0.64 C 0.08 0.42 0.28 0.36 0.44 0.44"),
          (1, "M 0 0.4 L 0 1 L 0 0.62 C 0.1 0.4 0.3 0.36 0.42 0.42")],
    "s": [(1, "M 0.44 0.47 C 0.34 0.36 0.04 0.37 0.04 0.54 C 0.04 0.7 0.46 0.66 0.46 0.83 "
              "C 0.46 1.03 0.1 1.03 0 0.92")],
    "t": [(3, "M 0.2 0.08 L 0.2 0.88 C 0.2 1.02 0.36 1.02 0.46 0.94 M 0 0.42 L 0.44 0.42"),
          (2, "M 0.2 0.08 L 0.2 1 M 0 0.42 L 0.42 0.4")],
    "u": [(3, "M 0 0.4 L 0 0.8 C 0 1.04 0.5 1.04 0.5 0.8 M 0.5 0.4 L 0.5 1"),
          (1, "M 0 0.4 L 0 0.78 C 0 1.04 0.5 1.04 0.5 0.78 L 0.5 0.4")],
    "v": [(1, "M 0 0.4 L 0.27 1 L 0.54 0.4")],
    "w": [(2, "M 0 0.4 L 0.18 1 L 0.36 0.56 L 0.54 1 L 0.72 0.4"),
          (1, "M 0 0.4 L 0.18 1 L 0.36 0.4 L 0.54 1 L 0.72 0.4")],
    "x": [(1, "M 0 0.4 L 0.5 1 M 0.5 0.4 L 0 1")],
    "y": [(2, "M 0 0.4 L 0.27 1 M 0.54 0.4 L 0.1 1.38"),
          (2, "M 0 0.4 L 0 0.76 C 0 0.98 0.5 0.98 0.5 0.76 M 0.5 0.4 L 0.5 1.2 "
              "C 0.5 1.44 0.12 1.44 0.02 1.28")],
    "z": [(3, "M 0 0.4 L 0.5 0.4 L 0 1 L 0.52 1"),
          (1, "M 0.02 0.42 L 0.5 0.4 L 0.02 1 L 0.54 0.98")],
    # punctuation, in the capitals' frame at its true size (a period is a dab on the baseline)
    ".": [(1, arc(0.05, 0.95, 0.035, 0.035, 0, 360))],
    ",": [(2, "M 0.1 0.9 C 0.12 0.98 0.1 1.08 0.02 1.18"),
          (1, arc(0.08, 0.92, 0.03, 0.03, 0, 360) + " M 0.1 0.94 L 0.02 1.16")],
    ":": [(1, arc(0.05, 0.5, 0.035, 0.035, 0, 360) + " " + arc(0.05, 0.95, 0.035, 0.035, 0, 360))],
    ";": [(1, arc(0.08, 0.5, 0.035, 0.035, 0, 360) + " M 0.1 0.9 C 0.12 0.98 0.1 1.08 0.02 1.18")],
    "'": [(1, "M 0.06 0 L 0.02 0.28")],
    '"': [(1, "M 0.06 0 L 0.02 0.28 M 0.28 0 L 0.24 0.28")],
    "(": [(3, arc(0.5, 0.5, 0.5, 0.62, 235, 125)), (1, arc(0.4, 0.5, 0.4, 0.58, 240, 120))],
    ")": [(3, arc(0, 0.5, 0.5, 0.62, -55, 55)), (1, arc(0, 0.5, 0.4, 0.58, -60, 60))],
    "[": [(1, "M 0.32 -0.06 L 0 -0.06 L 0 1.06 L 0.32 1.06")],
    "]": [(1, "M 0 -0.06 L 0.32 -0.06 L 0.32 1.06 L 0 1.06")],
    "{": [(2, "M 0.45 -0.06 C 0.1 -0.06 0.3 0.42 0.18 0.47 L 0 0.5 L 0.18 0.53 "
              "C 0.3 0.58 0.1 1.06 0.45 1.06"),
          (1, "M 0.4 -0.06 C 0.15 -0.06 0.2 0.2 0.2 0.4 L 0 0.5 L 0.2 0.6 C 0.2 0.8 0.15 1.06 "
              "0.4 1.06")],
    "}": [(2, "M 0 -0.06 C 0.35 -0.06 0.15 0.42 0.27 0.47 L 0.45 0.5 L 0.27 0.53 "
              "C 0.15 0.58 0.35 1.06 0 1.06"),
          (1, "M 0 -0.06 C 0.25 -0.06 0.2 0.2 0.2 0.4 L 0.4 0.5 L 0.2 0.6 C 0.2 0.8 0.25 1.06 "
              "0 1.06")],
    "<": [(3, "M 0.6 0.15 L 0 0.55 L 0.6 0.95"), (1, "M 0.5 0.3 L 0 0.65 L 0.5 1")],
    ">": [(3, "M 0 0.15 L 0.6 0.55 L 0 0.95"), (1, "M 0 0.3 L 0.5 0.65 L 0 1")],
    "/": [(1, "M 0.6 -0.06 L 0 1.06")],
    "-": [(1, "M 0 0.6 L 0.5 0.6")],
    "=": [(1, "M 0 0.45 L 0.6 0.45 M 0 0.72 L 0.6 0.72")],
    "+": [(1, "M 0 0.6 L 0.6 0.6 M 0.3 0.3 L 0.3 0.9")],
    "#": [(1, "M 0.28 0 L 0.18 1 M 0.62 0 L 0.52 1 M 0 0.33 L 0.78 0.33 M -0.04 0.67 L 0.74 0.67")],
    "!": [(1, "M 0.1 0 L 0.08 0.7" + " " + arc(0.07, 0.95, 0.035, 0.035, 0, 360))],
    "?": [(1, "M 0 0.2 C 0.05 -0.08 0.6 -0.08 0.58 0.22 C 0.56 0.42 0.28 0.45 0.28 0.7 "
              + arc(0.28, 0.95, 0.035, 0.035, 0, 360))],
}


#: variants (by index in GLYPHS) that look like lower case or script: real EMNIST capitals are
#: often written so, but a printed page leaves them out (`pick_variants(..., block_only=True)`).
INFORMAL = {"F": (1,), "M": (3,), "W": (2,)}

#: x scale of each character's skeleton: the median width/height of the ink box per class on
#: the EMNIST train split (`load_dataset("emnist", "train")`, never the test split) divided by
#: that of the plain skeletons drawn with the same slant and jitter. Lower case: the same
#: measure, iterated to a fixed point by `python bench/synth_proportions.py` (which prints
#: corrections for the values here; for the capitals they stay within a few percent).
WIDTHS = {"A": 1.15, "B": 1.13, "C": 1.4, "D": 1.21, "E": 1.29, "F": 1.06, "G": 1.2, "H": 0.85,
          "I": 1.0, "J": 1.37, "K": 1.04, "L": 1.43, "M": 1.82, "N": 1.01, "O": 1.13, "P": 0.76,
          "Q": 1.05, "R": 1.1, "S": 1.15, "T": 1.41, "U": 1.13, "V": 1.01, "W": 1.19, "X": 0.93,
          "Y": 0.71, "Z": 1.5, "0": 1.49, "1": 1.0, "2": 1.29, "3": 1.04, "4": 1.02, "5": 1.19,
          "6": 1.09, "7": 1.04, "8": 0.85, "9": 0.85,
          "a": 1.30, "b": 0.85, "c": 1.31, "d": 0.94, "e": 1.17, "f": 1.33, "g": 1.02,
          "h": 0.85, "i": 1.58, "j": 1.36, "k": 1.34, "l": 1.11, "m": 1.32, "n": 1.11,
          "o": 1.00, "p": 0.96, "q": 1.03, "r": 1.22, "s": 1.03, "t": 1.53, "u": 1.22,
          "v": 1.00, "w": 1.34, "x": 1.00, "y": 1.03, "z": 1.43,
          **{c: 1.0 for c in PUNCTUATION}}            # punctuation: as drawn

#: extra slant of each character (degrees, top to the right), measured the same way: median
#: slant of the ink (second moments) per class on the EMNIST train split minus the synth one.
SLANTS = {"A": 7.8, "B": 0.1, "C": -7.4, "D": -5.2, "E": 7.2, "F": -0.2, "G": -1.6, "H": 7.5,
          "I": 2.8, "J": -11.8, "K": -2.6, "L": 7.4, "M": -4.3, "N": 22.6, "O": 7.9, "P": 3.0,
          "Q": -0.4, "R": 3.7, "S": 2.4, "T": 6.8, "U": 1.2, "V": 8.4, "W": 7.1, "X": -5.3,
          "Y": -0.1, "Z": -15.0, "0": 7.9, "1": 9.4, "2": -7.3, "3": -2.1, "4": 10.9, "5": 14.9,
          "6": -10.7, "7": -9.4, "8": 2.8, "9": 7.3,
          "a": -13.7, "b": -0.6, "c": -10.7, "d": 4.3, "e": -8.1, "f": -6.1, "g": -4.9,
          "h": -2.1, "i": 1.8, "j": -6.2, "k": 4.0, "l": 6.3, "m": -6.7, "n": -8.1, "o": 5.2,
          "p": 6.9, "q": 0.1, "r": -7.6, "s": 0.4, "t": 9.3, "u": -4.6, "v": 7.6, "w": 3.8,
          "x": -2.8, "y": -0.7, "z": -20.3, **{c: 0.0 for c in PUNCTUATION}}


def _parse(path: str) -> list[list[tuple[str, list[tuple[float, float]]]]]:
    """A path string -> strokes, each a list of (kind, points) pieces with their start point."""
    tokens = re.findall(r"[MLQCmlqc]|-?\d*\.?\d+(?:e-?\d+)?", path)
    strokes, pos, i = [], None, 0
    arity = {"M": 1, "L": 1, "Q": 2, "C": 3}
    while i < len(tokens):
        cmd = tokens[i].upper()
        n = arity[cmd]
        pts = [(float(tokens[i + 1 + 2 * j]), float(tokens[i + 2 + 2 * j])) for j in range(n)]
        i += 1 + 2 * n
        if cmd == "M":
            strokes.append([])
        else:
            strokes[-1].append((cmd, [pos] + pts))
        pos = pts[-1]
    return [s for s in strokes if s]


def _bezier_basis(kind: str, t: np.ndarray) -> np.ndarray:
    """Weights (len(t), order+1) of a line / quadratic / cubic Bezier's control points at t."""
    u = 1 - t
    if kind == "L":
        return np.stack([u, t], 1)
    if kind == "Q":
        return np.stack([u * u, 2 * u * t, t * t], 1)
    return np.stack([u ** 3, 3 * u * u * t, 3 * u * t * t, t ** 3], 1)


@lru_cache(maxsize=1)
def _table():
    """All variants compiled: a dict of arrays.

    basis (V, K, J): drawn points = basis @ control points; ctrl (V, J, 2); stroke (V, K) stroke
    index of each point, -1 for padding; cls (V,) (index in DRAWN); cum (2, len(DRAWN), W) cumulative variant
    probabilities per class (all variants; block capitals only); first (36,) index of each
    class's first variant.
    """
    variants = []
    for c in DRAWN:
        for weight, path in GLYPHS[c]:
            ctrl, rows, stroke_ids = [], [], []
            index = {}
            for s, stroke in enumerate(_parse(path)):
                for p, (kind, pts) in enumerate(stroke):
                    ids = [index.setdefault(pt, len(index)) for pt in pts]
                    length = sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(pts, pts[1:]))
                    n = max(2, int(np.ceil(length / SPACING)))
                    last = p == len(stroke) - 1
                    t = np.linspace(0, 1, n + 1) if last else np.arange(n) / n
                    w = _bezier_basis(kind, t)
                    for row in w:
                        full = {}
                        for j, v in zip(ids, row):
                            full[j] = full.get(j, 0.0) + v
                        rows.append(full)
                        stroke_ids.append(s)
            ctrl = sorted(index, key=index.get)
            variants.append((c, weight, ctrl, rows, stroke_ids))
    V = len(variants)
    K = max(len(v[3]) for v in variants)
    J = max(len(v[2]) for v in variants)
    basis = np.zeros((V, K, J), np.float32)
    ctrl = np.zeros((V, J, 2), np.float32)
    stroke = np.full((V, K), -1, np.int64)
    cls = np.zeros(V, np.int64)
    for v, (c, _, pts, rows, sids) in enumerate(variants):
        ctrl[v, :len(pts)] = np.array(pts) * [WIDTHS[c], 1.0]
        for k, row in enumerate(rows):
            for j, w in row.items():
                basis[v, k, j] = w
        stroke[v, :len(sids)] = sids
        cls[v] = DRAWN.index(c)
    n_var = np.bincount(cls, minlength=len(DRAWN))
    first = np.concatenate([[0], np.cumsum(n_var)[:-1]])
    cum = np.ones((2, len(DRAWN), n_var.max()))
    for c, char in enumerate(DRAWN):
        w = np.array([variants[first[c] + i][1] for i in range(n_var[c])], float)
        cum[0, c, :n_var[c]] = np.cumsum(w) / w.sum()
        w[list(INFORMAL.get(char, ()))] = 0
        cum[1, c, :n_var[c]] = np.cumsum(w) / w.sum()
    return {"basis": basis, "ctrl": ctrl, "stroke": stroke, "cls": cls, "cum": cum,
            "first": first}


@lru_cache(maxsize=1)
def _slants() -> np.ndarray:
    return np.array([SLANTS[c] for c in DRAWN])


# -- drawing ---------------------------------------------------------------------------------------

def pick_variants(labels: np.ndarray, rng: np.random.Generator, block_only: bool = False
                  ) -> np.ndarray:
    """labels (N,) class indices -> (N,) variant indices, drawn by the variants' weights
    (without the INFORMAL ones if `block_only`)."""
    t = _table()
    u = rng.random(len(labels))
    local = np.sum(u[:, None] >= t["cum"][int(block_only)][labels], axis=1)
    return t["first"][labels] + np.minimum(local, t["cum"].shape[2] - 1)


def skeleton_points(variants: np.ndarray, rng: np.random.Generator, *, jitter=0.035,
                    shift=0.025, elastic=0.03, slant=None, rotation=None, aspect=None,
                    pivot_y: float | None = None):
    """Jittered, distorted skeletons of a batch, in character-height units.

    variants (N,) from `pick_variants`; jitter: std of control-point noise; shift: std of a
    translation of each stroke (so strokes that share a corner part a little); elastic: amplitude of
    a smooth random displacement field; slant / rotation (radians) and aspect (x scale) are (N,)
    arrays (or None for the defaults of canonical characters). They turn the glyph about its
    pivot: the middle of its box, or (middle, pivot_y) with `pivot_y` in skeleton units (0.5
    keeps the nominal baseline half a height below the pivot).
    Returns points (N, K, 2) as (x, y) relative to the pivot, and valid (N, K) bool; padding
    points are zeros.
    """
    t = _table()
    n = len(variants)
    basis, stroke = t["basis"][variants], t["stroke"][variants]
    ctrl = t["ctrl"][variants] + rng.normal(0, 1, (n,) + t["ctrl"].shape[1:]).astype(np.float32) \
        * np.asarray(jitter, np.float32).reshape(-1, 1, 1)
    pts = basis @ ctrl                                                    # (N, K, 2)
    moves = rng.normal(0, 1, (n, MAX_STROKES, 2)).astype(np.float32) \
        * np.asarray(shift, np.float32).reshape(-1, 1, 1)
    pts = pts + moves[np.arange(n)[:, None], np.clip(stroke, 0, MAX_STROKES - 1)]
    # smooth elastic displacement: two random plane waves per axis
    freq = rng.uniform(0.4, 1.4, (n, 2, 2, 1)) * np.where(rng.random((n, 2, 2, 1)) < .5, -1, 1)
    angle = rng.uniform(0, 2 * np.pi, (n, 2, 2, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 2, 2, 1))
    amp = rng.uniform(0.3, 1.0, (n, 2, 2, 1)) * np.asarray(elastic).reshape(-1, 1, 1, 1)
    proj = (pts[:, None, None, :, 0] * np.cos(angle) + pts[:, None, None, :, 1] * np.sin(angle))
    disp = (amp * np.sin(2 * np.pi * freq * proj + phase)).sum(2)         # (N, 2, K)
    pts = pts + disp.transpose(0, 2, 1).astype(np.float32)
    # slant, rotation, aspect about the glyph's centre
    valid = stroke >= 0
    centre = 0.5 * (np.where(valid[..., None], pts, np.inf).min(1)
                    + np.where(valid[..., None], pts, -np.inf).max(1))
    if pivot_y is not None:
        centre[:, 1] = pivot_y
    p = pts - centre[:, None, :]
    if slant is None:
        slant = np.radians(rng.normal(SLANT_MEAN, 12, n))
    if rotation is None:
        rotation = np.radians(rng.normal(0, 6, n))
    if aspect is None:
        aspect = np.exp(rng.normal(0, 0.18, n))
    x = p[..., 0] * aspect[:, None] - np.tan(slant)[:, None] * p[..., 1]
    y = p[..., 1]
    c, s = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    out = np.stack([c * x - s * y, s * x + c * y], -1).astype(np.float32)
    out[~valid] = 0
    return out, valid


def point_weights(pts: np.ndarray, valid: np.ndarray, stroke: np.ndarray) -> np.ndarray:
    """Arc length each drawn point stands for: half the distance to each neighbour on its stroke.

    pts (N, K, 2) in pixels -> (N, K); 0 for padding."""
    seg = np.linalg.norm(np.diff(pts, axis=1), axis=-1)                   # (N, K-1)
    same = (stroke[:, 1:] == stroke[:, :-1]) & valid[:, 1:]
    seg = np.where(same, seg, 0)
    w = np.zeros(valid.shape, np.float32)
    w[:, 1:] += 0.5 * seg
    w[:, :-1] += 0.5 * seg
    return w


def splat(pts: np.ndarray, weights: np.ndarray, sigma: np.ndarray, shape) -> np.ndarray:
    """Sum of Gaussian pens: points (N, K, 2) (x, y in pixels, pixel centres at integers),
    weights (N, K), sigma (N,) -> field (N, H, W); a stroke with weights = arc length gives a
    ridge of height 1."""
    h, w = shape
    s = np.asarray(sigma, np.float32).reshape(-1, 1, 1)
    gx = np.exp(-0.5 * ((np.arange(w, dtype=np.float32) - pts[..., 0:1]) / s) ** 2)   # (N, K, W)
    gy = np.exp(-0.5 * ((np.arange(h, dtype=np.float32) - pts[..., 1:2]) / s) ** 2)   # (N, K, H)
    gy *= (weights / (np.sqrt(2 * np.pi) * s[..., 0]))[..., None]
    return np.matmul(gy.transpose(0, 2, 1), gx)


def ink_from_field(field: np.ndarray, width: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Ridge field (N, H, W) -> ink in [0, 1] with strokes `width` (N,) wide at half height."""
    gain = 0.5 * np.exp(np.asarray(width) ** 2 / (8 * np.asarray(sigma) ** 2))
    return np.clip(field * gain.reshape(-1, 1, 1).astype(np.float32), 0, 1)


def pen(n: int, rng: np.random.Generator, width_median: float = 3.0, width_spread: float = 0.25
        ) -> tuple[np.ndarray, np.ndarray]:
    """Stroke widths (N,) (log-normal) and Gaussian pen sigmas (N,) soft enough for the width."""
    width = width_median * np.exp(rng.normal(0, width_spread, n))
    sigma = width / rng.uniform(2.6, 4.4, n)
    return width.astype(np.float32), sigma.astype(np.float32)


def pressure(pts: np.ndarray, stroke: np.ndarray, rng: np.random.Generator, amount=0.25
             ) -> np.ndarray:
    """Pen pressure (N, K) around 1: a smooth random wave over the glyph, a level per stroke."""
    n = len(stroke)
    fx, fy, phase = rng.uniform(-3, 3, (n, 1)), rng.uniform(-3, 3, (n, 1)), \
        rng.uniform(0, 2 * np.pi, (n, 1))
    wave = np.sin(pts[..., 0] * fx + pts[..., 1] * fy + phase)
    per_stroke = rng.uniform(-1, 1, (n, MAX_STROKES))[np.arange(n)[:, None],
                                                      np.clip(stroke, 0, MAX_STROKES - 1)]
    a = np.asarray(amount).reshape(-1, 1) * rng.uniform(0, 1, (n, 1))
    return (1 + a * (0.6 * wave + 0.4 * per_stroke)).astype(np.float32)


def table_index(classes) -> np.ndarray:
    """Class index in `classes` -> index in DRAWN (the compiled table's order)."""
    return np.array([DRAWN.index(c) for c in classes], np.int64)


def render_characters(labels, rng: np.random.Generator, classes=NIST36, true_size: bool = False
                      ) -> np.ndarray:
    """labels (N,) int indices into `classes` (NIST36, BYCLASS or any tuple of characters
    with skeletons, DRAWN) -> float32 (N, 32, 32) canonical characters.

    Each character is scaled to its own box, as EMNIST does (a lower-case o is as large as an
    O); pages (ocrkit.data.pages) draw them at their true size instead. `true_size` draws each
    at one scale, a capital's height about TRUE_HEIGHT px, centred by its box: a period stays a
    dab with the pen width of a letter (the punctuation of ocrkit.data.lines). Every call draws
    fresh randomness from `rng`; the same labels and the same generator state give the same
    images.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"labels must be in 0..{len(classes) - 1}")
    labels = table_index(classes)[labels]
    out = np.empty((len(labels), SIZE, SIZE), np.float32)
    for i in range(0, len(labels), CHUNK):
        out[i:i + CHUNK] = _render_chunk(labels[i:i + CHUNK], rng, true_size)
    return out


TRUE_HEIGHT = 18.0      # px of a capital's height in true-size characters (one stroke more: 21)


def _render_chunk(labels: np.ndarray, rng: np.random.Generator, true_size: bool = False
                  ) -> np.ndarray:
    """labels (N,) table indices (into DRAWN) -> (N, 32, 32) canonical characters (or, with
    `true_size`, characters at one scale)."""
    n = len(labels)
    variants = pick_variants(labels, rng)
    stroke = _table()["stroke"][variants]
    slant = np.radians(rng.normal(SLANT_MEAN, 12, n) + _slants()[labels])
    pts, valid = skeleton_points(variants, rng, slant=slant, jitter=rng.uniform(0.02, 0.06, n),
                                 shift=rng.uniform(0.0, 0.04, n),
                                 elastic=rng.uniform(0.0, 0.06, n))
    width, sigma = pen(n, rng)
    # scale so that the longer side of the ink (skeleton box + one stroke width) is about 22 px
    # above half strength (the round stroke ends lose about a pixel at that level)
    lo = np.where(valid[..., None], pts, np.inf).min(1)
    hi = np.where(valid[..., None], pts, -np.inf).max(1)
    span = (hi - lo).max(1)
    ink_side = np.clip(rng.normal(23, 2.0, n), 19, 28)
    scale = (ink_side - width) / np.maximum(span, 1e-3)
    if true_size:
        scale = np.minimum(TRUE_HEIGHT * rng.uniform(0.9, 1.1, n),
                           (SIZE - 4 - width) / np.maximum(span, 1e-3))
    centre = (SIZE - 1) / 2 + 0.2 + rng.normal(0, 0.35, (n, 2))
    px = (pts - (0.5 * (lo + hi))[:, None, :]) * scale[:, None, None] + centre[:, None, :]
    weights = point_weights(px, valid, stroke) * pressure(pts, stroke, rng)
    field = splat(px.astype(np.float32), weights, sigma, (SIZE, SIZE))
    ink = ink_from_field(field * rng.uniform(0.8, 1.15, (n, 1, 1)).astype(np.float32), width, sigma)
    noisy = rng.random(n) < 0.3
    if noisy.any():
        m = int(noisy.sum())
        ink[noisy] += rng.normal(0, 1, (m, SIZE, SIZE)).astype(np.float32) \
            * rng.uniform(0, 0.04, (m, 1, 1)).astype(np.float32)
    peak = ink.reshape(n, -1).max(1).reshape(-1, 1, 1)
    return np.clip(ink / np.maximum(peak, 1e-6), 0, 1)


# -- the dataset -----------------------------------------------------------------------------------

#: the generated datasets: name -> classes (in the Dataset's order)
DATASETS = {"synth": NIST36, "synth62": BYCLASS}


def balanced_labels(size: int, rng: np.random.Generator, n_classes: int = len(NIST36)
                    ) -> np.ndarray:
    """(size,) labels: every block of n_classes is a shuffled copy of all classes."""
    blocks = -(-size // n_classes)
    return np.concatenate([rng.permutation(n_classes) for _ in range(blocks)])[:size] \
        if blocks else np.zeros(0, np.int64)


def _stream(size: int, split: str, seed: int, classes=NIST36) -> tuple[np.ndarray, np.ndarray]:
    """The first `size` samples of one split's random stream, rendered in fixed chunks so any
    prefix is the same whatever the size. Labels index `classes`; each set of classes other
    than NIST36 has streams of its own (its class count is part of the seed)."""
    n_chunks = -(-size // CHUNK)
    own = [] if classes == NIST36 else [len(classes)]
    labels = balanced_labels(n_chunks * CHUNK,
                             np.random.default_rng([seed, SPLIT_CODES[split], 1 << 20, *own]),
                             len(classes))
    table = table_index(classes)
    x = np.empty((size, SIZE, SIZE), np.float32)
    for j in range(n_chunks):
        rng = np.random.default_rng([seed, SPLIT_CODES[split], j, *own])
        i = j * CHUNK
        x[i:i + CHUNK] = _render_chunk(table[labels[i:i + CHUNK]], rng)[:size - i]
    return x, labels[:size]


def synth_dataset(size: int, split: str, seed: int = 0, name: str = "synth") -> Dataset:
    """A deterministic, class-balanced generated Dataset of `size` characters.

    name: "synth" (36 classes, NIST36 order: A-Z, 0-9) or "synth62" (62 classes in EMNIST
    ByClass order: 0-9, A-Z, a-z; each character scaled to its own box, as EMNIST's).
    train, valid and test come from disjoint random streams derived from `seed` and the split
    name; a smaller size of the same split is a prefix of a larger one. `split="all"` holds
    80/10/10 % of `size` from the train, valid and test streams, in that order.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown generated dataset '{name}'")
    classes = DATASETS[name]
    if split not in (*SPLIT_CODES, "all"):
        raise ValueError(f"unknown split '{split}'")
    size = int(size)
    if size < 0:
        raise ValueError("size must be >= 0")
    if split == "all":
        n_valid = n_test = int(round(size * ALL_FRACTIONS["valid"]))
        parts = [_stream(n, s, seed, classes) for s, n in
                 (("train", size - n_valid - n_test), ("valid", n_valid), ("test", n_test))]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
    else:
        x, y = _stream(size, split, seed, classes)
    return Dataset(x, y, classes, name, {"split": split, "seed": int(seed), "generator": name})
