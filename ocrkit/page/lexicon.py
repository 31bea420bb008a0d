"""Stage 6, words: a word the model read almost as a common English word becomes that word.

    lexicon = load()                                   # ocrkit/page/lexicon-en.txt
    labels = best_word(options, lexicon)               # options: per character [(label, p)]

Per word, the readings the model finds likely (a beam over each character's best few
classes) are scored by their log-probability, and those that are words of the lexicon get
BONUS plus a little for being frequent (RANK_WEIGHT per decade of rank). A word not in the
lexicon (a name, code, a number) keeps the model's reading unless a lexicon word is nearly as
likely, so the lexicon settles what the shapes leave open (cl/d, rn/m, u/v, a/o) and never
invents a word the ink does not support. One exception: a word of five letters or more read
with one stray digit among them (PR7CESSING) becomes the one lexicon word with a letter there
(digit_in_word). As Tesseract's dictionaries, it is on by default;
`--no-lexicon` turns it off, `--lexicon FILE` reads another word list (one word a line, most
frequent first).

lexicon-en.txt holds the 30,000 most frequent English words of wordfreq (its data CC BY-SA
4.0), made by `make lexicon` (bench/make_lexicon.py).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ocrkit.errors import OcrkitError

DEFAULT = Path(__file__).with_name("lexicon-en.txt")
BONUS = 2.5              # log-probability a lexicon word gains over a non-word
RANK_WEIGHT = 0.4        # ... less this per decade of its frequency rank
BEAM = 24                # readings kept per word
OPTIONS = 3              # classes considered per character
MAX_LETTERS = 20         # longer "words" are left as read
MAX_WORDS = 1_000_000    # a lexicon file holds at most this many words


@lru_cache(maxsize=4)
def load(path: str | None = None) -> dict:
    """A word list (one word a line, most frequent first; case folded) -> {word: log-prior}."""
    path = Path(path) if path else DEFAULT
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            words = []
            for line in f:
                w = line.strip().lower()
                if w:
                    words.append(w)
                if len(words) > MAX_WORDS:
                    raise OcrkitError(f"{path}: more than {MAX_WORDS:,} words")
    except UnicodeDecodeError:
        raise OcrkitError(f"{path}: a lexicon must be a UTF-8 text file") from None
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read lexicon ({exc.strerror or exc})") from None
    out = {}
    for rank, w in enumerate(words):
        out.setdefault(w, prior(rank))
    return out


def prior(rank: int) -> float:
    """The log-prior of the lexicon's word of `rank` (0: the commonest): BONUS less
    RANK_WEIGHT a decade of rank."""
    return float(BONUS - RANK_WEIGHT * np.log10(rank + 1))


def best_word(options: list[list[tuple[str, float]]], lexicon: dict) -> list[str] | None:
    """The best reading of one word, or None to keep the model's: `options` holds, per
    character, its likeliest classes [(label, probability)], best first."""
    if not options or len(options) > MAX_LETTERS or len(options) < 2:
        return None
    if sum(o[0][0].isalpha() for o in options if o) < 2:
        return None                       # numbers, codes: left as read
    beam = [(0.0, ())]
    for opts in options:
        step = []
        for label, p in opts[:OPTIONS + 1]:
            lp = float(np.log(max(p, 1e-6)))
            step.extend((s + lp, labels + (label,)) for s, labels in beam)
        step.sort(key=lambda t: -t[0])
        beam = step[:BEAM]
    if not beam:
        return None
    best_score, best = beam[0][0], None
    for score, labels in beam:
        bonus = lexicon.get("".join(labels).lower())
        if bonus is not None and score + bonus > best_score:
            best_score, best = score + bonus, list(labels)
    return best if best is not None else digit_in_word([o[0][0] for o in options], lexicon)


DIGIT_WORD = 5           # words this long with one stray digit are mended by the lexicon


def digit_in_word(labels: list[str], lexicon: dict) -> list[str] | None:
    """A word of DIGIT_WORD or more letters read with one digit among them (PR7CESSING),
    which no classes' beam mends when the digit's crop gave the letter no chance: the one
    lexicon word with a letter there and the rest as read, in the word's case; else None.
    (The digit/letter twins 0 1 2 5 are settled before, by the look-alike rules.)"""
    digits = [n for n, c in enumerate(labels) if c.isdigit()]
    if len(labels) < DIGIT_WORD or len(digits) != 1 or \
            not all(c.isalpha() for n, c in enumerate(labels) if n != digits[0]):
        return None
    k = digits[0]
    word = "".join(labels).lower()
    found = [ch for ch in "abcdefghijklmnopqrstuvwxyz" if word[:k] + ch + word[k + 1:] in lexicon]
    if len(found) != 1:
        return None
    upper = sum(c.isupper() for c in labels) > len(labels) / 2
    return labels[:k] + [found[0].upper() if upper else found[0]] + labels[k + 1:]
