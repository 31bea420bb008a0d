"""Stage 4, cuts: which atoms of a line make each character, decided by recognition.

    spans = candidates(line)                 # [(i, j)]: atoms i..j-1 as one character
    path = best_path(len(line), spans, scores)

Every run of up to MAX_ATOMS neighbouring atoms that could be one character (not wider than
MAX_WIDTH line heights, no gap inside wider than a stroke or two unless the atoms were one
piece of ink) is a candidate; the classifier reads all candidates of a page in one batch, and
dynamic programming picks, per line, the sequence of candidates covering every atom once whose
scores sum highest. The score of a candidate is the log-probability that it is one character
read right (its best class, times one minus the reject class's share when the model has one),
plus CHAR_BONUS per character: the one rule that cuts touching letters apart and joins the
pieces of broken ones.
"""
from __future__ import annotations

import numpy as np

MAX_ATOMS = 4            # atoms one character may be made of
MAX_WIDTH = 1.7          # line heights a character may be wide
MAX_INNER_GAP = 0.25     # line heights of gap allowed inside a character (broken strokes)
CHAR_BONUS = 0.0         # added to each character's log-probability
SKIP_COST = 1.5          # a run of atoms read as no character (the reject class) pays this
                         # per separate piece, so real letters are not dropped in heaps ...
SKIP_WIDTH = 0.6         # ... and more for runs wider than this many line heights
CUT_COST = 1.0           # taken off for each cut through one piece of ink
JOIN_COST = 1.0          # ... for each join of two separate pieces into one character
GAP_COST = 5.0           # ... per line height of gap inside a joined character
WIDE_COST = 6.0          # times the square of how far a character is wider than WIDE_RATIO
WIDE_RATIO = 1.15        # width / height beyond which a candidate is unlikely one character


def candidates(boxes: np.ndarray, cluster: np.ndarray, height: float) -> list[tuple[int, int]]:
    """Spans (i, j) of atoms i..j-1 (atoms left to right, boxes (k, 4) x0 y0 x1 y1) that may
    form one character. Every single atom is a candidate, so a path always exists."""
    k = len(boxes)
    spans = []
    for i in range(k):
        right = boxes[i, 2]
        for j in range(i + 1, min(k, i + MAX_ATOMS) + 1):
            if j > i + 1:
                gap = boxes[j - 1, 0] - right
                if cluster[j - 1] != cluster[j - 2] and gap > MAX_INNER_GAP * height:
                    break
                right = max(right, boxes[j - 1, 2])
                if right - boxes[i, 0] > MAX_WIDTH * height:
                    break
            spans.append((i, j))
    return spans


def prior(boxes: np.ndarray, cluster: np.ndarray, spans, height: float) -> np.ndarray:
    """Log-prior of each span being one character, from its shape alone. A cut through one
    piece of ink costs CUT_COST (half at each side of a span); joining separate pieces costs
    JOIN_COST each, plus GAP_COST per line height of gap between them (the pieces of a broken
    letter touch or nearly do); a span much wider than tall (two letters read as one M) costs
    WIDE_COST per squared width-to-height ratio beyond WIDE_RATIO."""
    out = np.zeros(len(spans))
    k = len(cluster)
    for s, (i, j) in enumerate(spans):
        (x0, y0, x1, y1), joins = _shape(boxes, cluster, i, j)
        ratio = (x1 - x0) / max(y1 - y0, 0.7 * height)
        cut_edges = int(i > 0 and cluster[i] == cluster[i - 1]) + \
            int(j < k and cluster[j] == cluster[j - 1])
        gaps = np.maximum(0, boxes[joins, 0] - np.maximum.accumulate(boxes[i:j, 2])[joins - i - 1])
        out[s] = (-WIDE_COST * max(0.0, ratio - WIDE_RATIO) ** 2 - CUT_COST * 0.5 * cut_edges
                  - JOIN_COST * len(joins) - GAP_COST * float(gaps.sum()) / height)
    return out


def skip_cost(boxes: np.ndarray, cluster: np.ndarray, spans, height: float) -> np.ndarray:
    """What reading each span as no character costs: SKIP_COST per separate piece, so real
    letters are not dropped in heaps, times its width in SKIP_WIDTH line heights where wider:
    what is not writing is narrow (specks, commas, brackets, a rule's stub), while a span of
    two touching letters, which the reject class rightly calls "not one character", is wide
    and must be cut, not dropped. Widths count up to MAX_WIDTH: what is wider than any
    character (a rule's remnant, a strike-through) is dropped at that price."""
    out = np.zeros(len(spans))
    for s, (i, j) in enumerate(spans):
        (x0, _, x1, _), joins = _shape(boxes, cluster, i, j)
        width = min((x1 - x0) / height, MAX_WIDTH)
        out[s] = SKIP_COST * (1 + len(joins)) * max(1.0, width / SKIP_WIDTH)
    return out


def _shape(boxes: np.ndarray, cluster: np.ndarray, i: int, j: int):
    """The box (x0, y0, x1, y1) of atoms i..j-1 of a line, and the indices of those among
    i+1..j-1 that start a new piece of ink (a join of separate pieces)."""
    x0, y0 = boxes[i:j, :2].min(0)
    x1, y1 = boxes[i:j, 2:].max(0)
    return (x0, y0, x1, y1), np.flatnonzero(cluster[i + 1:j] != cluster[i:j - 1]) + i + 1


def best_path(n: int, spans: list[tuple[int, int]], scores: np.ndarray) -> list[int]:
    """Indices into `spans` of the highest-scoring sequence covering atoms 0..n-1 once."""
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back = np.full(n + 1, -1, np.int64)
    by_end: dict[int, list[int]] = {}
    for s, (i, j) in enumerate(spans):
        by_end.setdefault(j, []).append(s)
    for j in range(1, n + 1):
        for s in by_end.get(j, ()):
            i = spans[s][0]
            value = best[i] + scores[s]
            if value > best[j]:
                best[j], back[j] = value, s
    path, j = [], n
    while j > 0:
        s = int(back[j])
        path.append(s)
        j = spans[s][0]
    return path[::-1]
