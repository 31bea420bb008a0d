"""Stage 5, case: upper or lower case from each character's size and place on its line.

A 32x32 crop has lost how big a character was, so a model cannot tell c from C, o from O, or
x from X: those pairs (TWINS) are one shape to it. Their probabilities are summed into the
shape, and the line decides: a twin as tall as the line's capitals is upper case, one no taller
than its small letters is lower case. The line's geometry comes from the characters whose case
their shape shows (a e n r are small letters; A B D E, digits and b d h k l t reach the cap
line).

    case = page_case(labels, confidence)          # "upper" or "mixed", for --case auto
    labels = settle_case(labels, boxes, mode)     # one line; boxes (n, 4) in working pixels

`--case upper` reads every letter as a capital (a page in block capitals); `mixed` decides
each twin from the line; `auto` (the default) is `upper` when a page holds (almost) no small
letter whose shape is its own, else `mixed`: a page in capitals still reads as capitals.
"""
from __future__ import annotations

import numpy as np

from ocrkit.page.lexicon import RANK_WEIGHT

TWINS = frozenset("ckmopsuvwxyz")        # small letters shaped like their capital
SMALL = frozenset("aenr")                # small letters of x-height whose shape is their own
TALL = frozenset("ABDEFGHJLNQRT0123456789bdfhklt")   # reach the cap line (no twin)
DESCENDERS = frozenset("gjpqy")
MODES = ("auto", "upper", "mixed")
LOWER_SHARE = 0.3        # pages with fewer small letters than this share are capitals: a
# page of block capitals the line model reads with a capital A, E, G or N taken for its small
# form now and then (up to a fifth of its sure letters on the dev pages read at other scales),
# while a mixed page's share is 0.4 or more (a form's printed labels beside its capitals)
BY_FAR = RANK_WEIGHT     # a log-prior this much higher: a decade of rank (ocrkit.page.lexicon)
MARK_TOP = 0.45          # in capitals, a character whose top is below this share of the cap
MARK_HEIGHT = 0.75       # height, and no taller than this share, is a mark (marks)


def merge_twins(probs: np.ndarray, classes) -> np.ndarray:
    """Probabilities (n, k) over `classes` with each twin's two cases summed onto both (so
    either case's column holds the shape's probability); other columns unchanged."""
    out = probs.copy()
    index = {c: i for i, c in enumerate(classes)}
    for small in TWINS:
        big = small.upper()
        if small in index and big in index:
            both = probs[:, index[small]] + probs[:, index[big]]
            out[:, index[small]] = both
            out[:, index[big]] = both
    return out


def page_case(labels: list[str], confidence: list[float], min_confidence: float = 0.5) -> str:
    """ "upper" when the sure letters of a page whose case shows in their shape are (almost)
    all capitals, else "mixed"."""
    small = sum(1 for c, p in zip(labels, confidence) if c.islower() and c not in TWINS
                and c not in "il" and p >= min_confidence)
    big = sum(1 for c, p in zip(labels, confidence) if c.isupper() and c.lower() not in TWINS
              and c not in "I" and p >= min_confidence)
    return "mixed" if small > LOWER_SHARE * max(small + big, 1) and small >= 2 else "upper"


def baseline(labels: list[str], boxes: np.ndarray) -> np.ndarray:
    """The line's baseline under each character (y, in the boxes' pixels): a straight line
    through the bottoms of the characters without descenders, fitted by least squares after
    dropping the bottoms furthest from the first fit (a line may drift a little)."""
    boxes = np.asarray(boxes, float)
    use = [i for i, c in enumerate(labels) if c not in DESCENDERS] or list(range(len(labels)))
    x = (boxes[use, 0] + boxes[use, 2]) / 2
    y = boxes[use, 3]
    centre = (boxes[:, 0] + boxes[:, 2]) / 2
    if len(use) < 3 or np.ptp(x) == 0:
        return np.full(len(boxes), float(np.median(y)))
    slope, cut = np.polyfit(x, y, 1)
    resid = np.abs(y - (slope * x + cut))
    keep = resid <= max(np.percentile(resid, 70), 1.0)
    if keep.sum() >= 2 and np.ptp(x[keep]) > 0:
        slope, cut = np.polyfit(x[keep], y[keep], 1)
    slope = float(np.clip(slope, -0.1, 0.1))              # about 6 degrees at most
    return slope * centre + (cut if abs(slope) < 0.1 else float(np.median(y - slope * x)))


def line_geometry(labels: list[str], boxes: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(baseline under each character, x-height, cap height) of one line, in the boxes'
    pixels (y down): the x-height and cap height are the median heights above the baseline
    of small letters and of tall characters. Missing evidence is filled from the other
    measure (x-height = 0.62 cap height)."""
    boxes = np.asarray(boxes, float)
    base = baseline(labels, boxes)
    above = base - boxes[:, 1]
    small = [above[i] for i, c in enumerate(labels) if c in SMALL]
    tall = [above[i] for i, c in enumerate(labels) if c in TALL]
    cap = float(np.median(tall)) if tall else None
    x = float(np.median(small)) if small else None
    if cap is None and x is None:
        cap = float(np.median(above))
    if cap is None:
        cap = x / 0.62
    if x is None or x >= 0.9 * cap:
        x = 0.62 * cap
    return base, x, cap


def marks(labels: list[str], boxes) -> np.ndarray:
    """Which characters of a line written in capitals are punctuation, not letters or digits
    (bool (n,)): those whose top lies below MARK_TOP of the line's cap height above its
    baseline and whose height is under MARK_HEIGHT of it (a comma or period read as 9, 7 or
    a dot's I). A capital's top is at the cap line; only a mark sits that low. Lines of fewer
    than three characters have no geometry to tell."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    if len(labels) < 3:
        return np.zeros(len(labels), bool)
    base, _, cap = line_geometry(labels, boxes)
    return (base - boxes[:, 1] < MARK_TOP * cap) & (boxes[:, 3] - boxes[:, 1] < MARK_HEIGHT * cap)


def settle_case(labels: list[str], boxes, mode: str, words=None, lexicon=None) -> list[str]:
    """The labels of one line (each already the best class, twins in either case) in the case
    `mode` asks for: "upper" every letter a capital; "mixed" each twin by its height above the
    line's baseline (nearer the x-height: small; nearer the cap height: capital), and a lone
    stroke (I or l) by its word: l among small letters, I otherwise (counting the letters
    whose shape shows their case, but not a capital that begins the word, and twins only in
    a word of twins), unless the `lexicon` ({word: log-prior}) knows the word with one of i
    and l there and not with the other (class, not ciass), or with one far commoner (It, not
    lt: BY_FAR), in the word's case (FILE, OIL); then no capital after a
    small letter of its word (no_rise). `words`: the word number of each label (default: one
    word)."""
    if mode == "upper":
        return [c.upper() for c in labels]
    if not labels:
        return labels
    boxes = np.asarray(boxes, float)
    words = [0] * len(labels) if words is None else list(words)
    base, x, cap = line_geometry(labels, boxes)
    out = []
    for c, b, y in zip(labels, boxes, base):
        if c.lower() in TWINS:
            # descender twins (p y) hang below the baseline: their top decides
            c = c.lower() if y - b[1] < (x + cap) / 2 else c.upper()
        out.append(c)
    for n, c in enumerate(out):
        if c in ("I", "l"):
            word = [j for j, w in enumerate(words) if w == words[n]]
            others = [out[j] for j in word if out[j].isalpha() and out[j] not in "Il"
                      and not (j == word[0] != n and out[j].isupper())]
            # the letters whose shape shows their case decide, not a Capitalised word's first;
            # twins (their case set by size, which a writer's big c or s misleads) only when
            # the word has no other
            shown = [o for o in others if o.lower() not in TWINS] or others
            small = sum(o.islower() for o in shown)
            lower = bool(shown) and small > len(shown) / 2
            out[n] = "l" if lower else "I"
            if lexicon and len(word) > 1:
                prior = {v: lexicon.get("".join(v if j == n else out[j] for j in word).lower())
                         for v in "il"}
                known = sorted((p, v) for v, p in prior.items() if p is not None)
                # the one word the lexicon knows, or of two the far commoner (it, not lt)
                if len(known) == 1 or (len(known) == 2 and known[1][0] - known[0][0] >= BY_FAR):
                    v = known[-1][1]          # in the word's case: FILE and OIL stay capitals
                    out[n] = ("l" if lower else "L") if v == "l" else \
                        "i" if lower and n != word[0] else "I"
    return no_rise(out, words)


def no_rise(labels: list[str], words: list) -> list[str]:
    """Case does not rise inside a word of mixed case: a capital after a small letter of its
    word is small ("heLLo", "VeriFy": an l or f written with a foot or a bar reads as L or F),
    and a capital second letter before two or more letters all small is too ("SYstem"). A
    word in capitals is left alone, and so is I, which the bar rule settled (small, it is l).
    A word in camelCase loses its inner capitals (toString -> tostring): on hand-printed
    pages a capital inside a word is far more often a misread small letter."""
    out = list(labels)
    for w in dict.fromkeys(words):
        at = [j for j, v in enumerate(words) if v == w and out[j].isalpha()]
        letters = [out[j] for j in at]
        if len(letters) >= 4 and letters[0].isupper() and letters[1].isupper() \
                and all(c.islower() for c in letters[2:]):
            out[at[1]] = "l" if letters[1] == "I" else letters[1].lower()
        small = False
        for j in at:
            if out[j].islower():
                small = True
            elif small and out[j] != "I":
                out[j] = out[j].lower()
    return out
