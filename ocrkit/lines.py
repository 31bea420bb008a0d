"""The line recognizer: a whole written line -> its text, by a convolutional network trained
with CTC (ocrkit.engine.ctc) on lines composed from EMNIST and synth62 characters
(ocrkit.data.lines). The other way to read a line to the page pipeline's cuts chosen by
recognition (ocrkit.page.cuts); bench/line_vs_cuts.py measures both on the real pages.

    from ocrkit.lines import load_line_model, read_line
    model = load_line_model()                          # models/line.pkl
    text, confidence, x = read_line(ink, model)        # ink (h, w): a line crop, ink 1 on 0

The network (line_specs) sees a line 32 pixels high and any width: convolutions pool the
height 32 -> 8 and the width by 4, keeping one column of features per 4 input pixels; Columns
folds the remaining height into the features; 1x1 convolutions are a per-column classifier
over the blank, the space and the 62 characters. Its layers are sized for any width: a model
is trained at one width and rebuilt with the same parameters at each line's own
(network_for).

A crop is fitted to that frame by fit_height: contrast to its ink's 90th percentile, cut to its
ink, scaled so the ink spans 28 of the 32 rows (2 above, 2 below), as the composed training
lines are.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ocrkit.config import LINE_PRINTED
from ocrkit.data.lines import HEIGHT, LINE_CLASSES, WIDTH
from ocrkit.errors import OcrkitError

MARGIN = 2              # pixels of paper above, below and left of the ink in a fitted line
RIGHT = 6               # ... and right of it
THIN = 2.4              # strokes thinner than this (fitted pixels) are grown
STRIDE = 4              # input columns per output column
WINDOW = 512            # fitted pixels of a line read at once (a multiple of STRIDE) ...
CONTEXT = 24            # ... with this much of the line either side: a column's 4 pixels
                        # see 17 more either side, so 24 gives the whole line's logits (48
                        # did too, at 1.19x the windows' width; the NIST form 2.4 -> 2.2 s)


def line_specs(n_classes: int = len(LINE_CLASSES)) -> list[dict]:
    """The line network: 32 x W -> (1, W/4, n_classes) scores per column. Each column sees
    34 input pixels across (about a capital and a half); a batch of 32 lines 288 wide trains
    in about 0.8 s here (one BLAS thread)."""
    def conv(filters, batchnorm=True):
        return {"type": "conv2d", "filters": filters, "batchnorm": batchnorm,
                "activation": "relu"}
    return [conv(16, batchnorm=False), {"type": "maxpool2d"},   # 16 x W/2
            conv(32), {"type": "maxpool2d"},                     # 8 x W/4
            conv(64), conv(64), conv(64),
            {"type": "columns"},                                 # 1 x W/4 x 512
            {"type": "conv2d", "filters": 256, "kernel": 1, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
            {"type": "conv2d", "filters": n_classes, "kernel": 1, "activation": "identity"}]


# -- reading -------------------------------------------------------------------------------------
class LineReading(NamedTuple):
    """A line read: `text` (spaces between words), and for each of its characters (spaces
    too) the `confidence` (the highest probability of its class over its columns), `x`, its
    centre in the pixels of the crop given, and `probs` (len(text), classes), the model's
    probabilities at its middle column (zeros for a space); `marks`, where the line holds an
    exclamation or question mark (TALL_MARKS), which the text leaves out."""

    text: str
    confidence: np.ndarray
    x: np.ndarray
    probs: np.ndarray
    marks: np.ndarray = np.zeros(0)     # centres (as x) of the TALL_MARKS read, left out


TALL_MARKS = "!?"       # marks as tall as a letter, which a character model reads as 1 or 7


def fit_height(ink: np.ndarray, height: int = HEIGHT) -> tuple[np.ndarray, float, float]:
    """A line crop (h, w), ink 1 on 0 at any scale -> (line (height, w') float32, scale, x0):
    contrast stretched to the 90th percentile of its ink, cut to the ink, resized so the ink
    spans height - 2 * MARGIN rows, with MARGIN pixels of paper around it (RIGHT at the
    right); strokes thinner than THIN pixels there are grown by one pixel each side (thin
    pens: the composed training lines' strokes are 2.4 to 7 pixels). A column x' of the line
    is column x0 + x' / scale of the crop."""
    from PIL import Image
    from scipy import ndimage

    from ocrkit.data.normalize import stroke_width
    ink = np.asarray(ink, np.float32)
    if ink.ndim != 2:
        raise OcrkitError(f"a line crop is one 2-D ink image, got shape {ink.shape}")
    empty = np.zeros((height, 2 * MARGIN + RIGHT), np.float32), 1.0, 0.0
    inked = ink[ink > 0.05]
    if inked.size == 0:
        return empty
    k = int(0.9 * (len(inked) - 1))
    ink = np.clip(ink / max(float(np.partition(inked, k)[k]), 1e-3), 0, 1)
    strong = ink > 0.25
    rows, cols = np.flatnonzero(strong.any(1)), np.flatnonzero(strong.any(0))
    if len(rows) == 0:
        return empty
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    scale = (height - 2 * MARGIN) / (r1 - r0)
    w = max(1, int(round((c1 - c0) * scale)))
    crop = Image.fromarray(np.ascontiguousarray(ink[r0:r1, c0:c1]), mode="F")
    small = np.asarray(crop.resize((w, height - 2 * MARGIN),
                                   Image.BOX if scale < 1 else Image.BILINEAR), np.float32)
    out = np.zeros((height, w + MARGIN + RIGHT), np.float32)
    out[MARGIN:height - MARGIN, MARGIN:MARGIN + w] = np.clip(small, 0, 1)
    if 0 < stroke_width(out > 0.5) < THIN:
        out = ndimage.grey_dilation(out, footprint=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]],
                                                            bool))
    return out, scale, c0 - MARGIN / scale


def word_gaps(line: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The gaps between neighbouring characters of a fitted line (their centres in its
    pixels), in character heights: the longest run of paper columns between two centres, over
    the median height of the line's pieces of ink (those at least 0.3 of the ink's height)."""
    from scipy import ndimage
    if len(centres) < 2:
        return np.zeros(0)
    mask = line > 0.5
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    tall = [o[0].stop - o[0].start for o in ndimage.find_objects(labels)]
    tall = [t for t in tall if t >= 0.3 * (HEIGHT - 2 * MARGIN)]
    char_height = float(np.median(tall)) if tall else HEIGHT - 2 * MARGIN
    paper = ~mask.any(0)
    gaps = []
    for a, b in zip(np.floor(centres[:-1]).astype(int), np.ceil(centres[1:]).astype(int)):
        edges = np.diff(np.concatenate([[0], paper[a:b], [0]]).astype(np.int8))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        gaps.append(float(runs.max(initial=0)))
    return np.array(gaps) / char_height


def network_for(model, width: int):
    """The model's network rebuilt for lines `width` pixels wide (the same parameters)."""
    from ocrkit.engine import Network
    net = model.network
    if tuple(net.input_shape) == (HEIGHT, width):
        return net
    other = Network(net.specs, (HEIGHT, width), dtype=net.dtype, init=False)
    other.set_params(net.get_params())
    return other


def _windowed_logits(lines: list, model) -> np.ndarray:
    """The model's column logits (n, columns, classes) for fitted lines of any widths, at a
    cost linear in their total width: each line is read in windows of WINDOW pixels, each
    seen with CONTEXT pixels of the line either side (the first from the line's start, as a
    whole line is), all windows of all lines in one batch of one width, and the windows' own
    columns put back together. Every column sees what it would see in the whole line, so the
    logits are the whole line's (a line 10,000 pixels wide neither pads the batch to its
    width nor needs a network built for it)."""
    step, seen = WINDOW // STRIDE, (WINDOW + 2 * CONTEXT) // STRIDE
    columns = max(-(-line.shape[1] // STRIDE) for line in lines)
    windows = -(-columns // step)
    batch, where = [], []
    for n, line in enumerate(lines):
        for j in range(-(-line.shape[1] // WINDOW)):
            x0 = max(0, j * WINDOW - CONTEXT)
            window = np.zeros((HEIGHT, WINDOW + 2 * CONTEXT), np.float32)
            piece = line[:, x0:x0 + WINDOW + 2 * CONTEXT]
            window[:, :piece.shape[1]] = piece
            batch.append(window)
            first = (j * WINDOW - x0) // STRIDE
            where.append((n, j, first))
    out = network_for(model, WINDOW + 2 * CONTEXT).predict(np.stack(batch))
    out = out.reshape(len(batch), seen, len(model.classes))
    logits = np.zeros((len(lines), windows * step, len(model.classes)), np.float32)
    for (n, j, first), window in zip(where, out):
        logits[n, j * step:(j + 1) * step] = window[first:first + step]
    return logits           # past a line's end: zeros, never decoded (its length stops there)


def read_lines(inks, model, lexicon: dict | None = None) -> list[LineReading]:
    """Several line crops (each (h, w), ink 1 on 0, any size) -> a LineReading each, in one
    batch: fitted to height 32 (fit_height), padded with paper on the right to the widest,
    decoded by a prefix beam (ocrkit.engine.ctc.beam_decode, BEAM wide: the likeliest
    labelling, which is the best path's (greedy_decode) but where several paths together
    outweigh it). Punctuation the model reads
    (ocrkit.data.lines) is left out: the text holds what the 62-class character model knows,
    letters and digits, so a bracket is dropped rather than read as a letter. Words are split
    as the page pipeline splits them, by ocrkit.page.segment.word_spaces on the line's own gaps
    (word_gaps; phrase by phrase), not by the model's space class, which sees too little of
    the line to tell a wide letter gap from a word gap; a space's confidence is its weaker
    neighbour's. The exclamation and question marks it read are kept as `marks`.

    With a `lexicon` ({word: log-prior}, ocrkit.page.lexicon.load), a word may become a
    lexicon word a few edits away that explains the same columns nearly as well
    (lexicon_word): the lexicon with insertions and deletions, as the CTC reading allows."""
    from ocrkit.engine.ctc import Reading, align, beam_decode, greedy_decode
    from ocrkit.page.segment import word_spaces
    if model.kind != "line":
        raise OcrkitError(f"{model.source or 'the model'} is a {model.kind}, not a line model "
                          "(train one with 'ocrkit train-lines')")
    fitted = [fit_height(ink) for ink in inks]
    if not fitted:
        return []
    logits = _windowed_logits([f[0] for f in fitted], model)
    from ocrkit.engine.ctc import log_softmax
    log_p = log_softmax(logits)
    probabilities = np.exp(log_p)
    words = by_length(lexicon or {})                # what rapidfuzz searches
    one_hot = np.eye(len(model.classes))
    lengths = [-(-f[0].shape[1] // STRIDE) for f in fitted]
    text_class = np.array([c.isalnum() for c in model.classes])     # not blank, space, marks
    out = []
    blank_row = np.zeros(len(model.classes))
    tall = np.array([c in TALL_MARKS for c in model.classes])
    for n, (reading, (line, scale, x0)) in enumerate(zip(greedy_decode(logits, lengths),
                                                          fitted)):
        lp = log_p[n, :lengths[n]]
        if BEAM > 1:
            # the likeliest labelling, all its paths summed, where it is not the best path's:
            # each letter at the column the likeliest path spelling it gives it
            labels, _ = beam_decode(lp, beam=BEAM)
            if not np.array_equal(labels, reading.labels):
                columns = align(lp, labels)
                reading = Reading(labels, columns, np.exp(lp[columns.astype(int), labels]))
        keep = text_class[reading.labels]
        marks = x0 + (reading.columns[tall[reading.labels]] * STRIDE + STRIDE / 2) / scale
        labels, conf, columns = reading.labels[keep], reading.confidence[keep], \
            reading.columns[keep]
        centres = columns * STRIDE + STRIDE / 2                         # fitted pixels
        gaps = word_gaps(line, centres)
        spaces = word_spaces(gaps, phrases=True) if len(labels) > 1 else []
        sure = np.zeros(len(labels), bool)
        if lexicon and len(labels):
            spaces = _split_words(labels, columns, spaces, gaps, lp, model.classes, lexicon,
                                  words)
            labels, conf, columns, sure, spaces = _lexicon_line(
                labels, conf, columns, spaces, lp, model.classes, lexicon, words)
            centres = columns * STRIDE + STRIDE / 2
        text, confidence, x, probs = [], [], [], []
        for i, k in enumerate(labels):
            if i and spaces[i - 1]:
                text.append(" ")
                confidence.append(min(conf[i - 1], conf[i]))
                x.append((centres[i - 1] + centres[i]) / 2)
                probs.append(blank_row)
            text.append(model.classes[k])
            confidence.append(conf[i])
            x.append(centres[i])
            # a letter the lexicon put there: its class, as sure as its column's reading was
            probs.append(one_hot[k] if sure[i] else probabilities[n, int(round(columns[i]))])
        out.append(LineReading("".join(text), np.array(confidence, np.float64),
                               x0 + np.array(x, np.float64) / scale,
                               np.array(probs, np.float64).reshape(-1, len(model.classes)),
                               np.asarray(marks, np.float64)))
    return out


# a line's text is its likeliest labelling, found by a prefix beam this wide (1: the best
# path). Handwritten dev pages: best path 11.6%, beam 4 11.2%, beam 8 and 16 11.4%;
# `make robustness`, the seven variants' mean: 13.9%, 13.8%, 13.9% (beam 4 and 8)
BEAM = 4

LEXICON_EDITS = 2       # a lexicon word at most this many edits from the word read ...
LEXICON_MIN = 3         # ... of at least this many letters may take its place
LEXICON_CANDIDATES = 12
# what a lexicon word gains beyond the lexicon's own prior, in log-probability: a whole
# word's CTC scores lie far apart, so the prior that suits the cuts' per-letter choices is
# too weak here (handwritten dev pages, `make pages`: 0: 16.9% CER, 2: 16.4%, 4: 16.0%,
# 6: 16.0%, 9: 16.3%; the smaller of the best two kept)
LEXICON_GAIN = 4.0


# a line model reads an l's stroke as an i's and back (hello -> heiio): the lexicon looks up
# words with the two as one letter, and scores them with the two columns as one
SHAPE_KEY = str.maketrans("i", "l")


_BY_LENGTH: dict = {}    # id(lexicon) -> (lexicon, by_length of it): built once per lexicon


def by_length(lexicon: dict) -> dict:
    """A lexicon's words by their length {length: ([shape key, ...], [word, ...])}, in the
    lexicon's order; a word's shape key has i as l (SHAPE_KEY). Built once for each lexicon
    (ocrkit.page.lexicon.load gives every page the same dict), not on every page."""
    held = _BY_LENGTH.get(id(lexicon))
    if held is not None and held[0] is lexicon:
        return held[1]
    out = {}
    for w in lexicon:
        keys, same = out.setdefault(len(w), ([], []))
        keys.append(w.translate(SHAPE_KEY))
        same.append(w)
    if len(_BY_LENGTH) >= 4:
        _BY_LENGTH.clear()
    _BY_LENGTH[id(lexicon)] = (lexicon, out)
    return out


def lexicon_word(lp: np.ndarray, word: str, classes, lexicon: dict, words: dict) -> str | None:
    """The lexicon word (lower case) that should replace `word`, read from the columns of
    log-probabilities lp (T, C) of a line model with `classes`, or None to keep it: of the
    word and the LEXICON_CANDIDATES lexicon words nearest it, at most LEXICON_EDITS edits away
    and the commoner first among equals (rapidfuzz, searching only the words of `words`
    (by_length) whose length is that close, i and l as one letter), the one with the highest
    log p(it | columns) (all CTC paths, each letter's two cases as one, and i and l) plus, for
    a lexicon word, its log-prior (ocrkit.page.lexicon: BONUS less RANK_WEIGHT a decade of
    rank) and LEXICON_GAIN. As ocrkit.page.lexicon.best_word for the cuts, the lexicon
    settles what the ink leaves open and never invents a word it does not support; unlike
    it, the word may gain or lose a letter (beief -> belief)."""
    from itertools import chain

    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    from ocrkit.engine.ctc import sequence_log_likelihood
    low = word.lower()
    if len(low) < LEXICON_MIN or not low.isalpha() or not low.isascii():
        return None
    lengths = [words[n] for n in range(len(low) - LEXICON_EDITS, len(low) + LEXICON_EDITS + 1)
               if n in words]
    keys = list(chain.from_iterable(k for k, _ in lengths))
    near = list(chain.from_iterable(w for _, w in lengths))
    found = process.extract(low.translate(SHAPE_KEY), keys, scorer=Levenshtein.distance,
                            score_cutoff=LEXICON_EDITS, limit=None)
    found = sorted((d, -lexicon[near[j]], near[j]) for _, d, j in found)[:LEXICON_CANDIDATES]
    # a word read as a lexicon word keeps its i and l: it is never its commoner i/l twin (a
    # fail read surely is not a fall), which the merged columns below would score the same
    shape = low.translate(SHAPE_KEY) if low in lexicon else None
    options = [low] + [w for _, _, w in found if w != low and w.isalpha() and w.isascii()
                       and w.translate(SHAPE_KEY) != shape]
    if len(options) == 1:
        return None
    index = {c: i for i, c in enumerate(classes)}
    merged = lp.copy()                         # a letter's column log-probability, either case
    for c in "abcdefghijklmnopqrstuvwxyz":
        if c in index and c.upper() in index:
            merged[:, index[c]] = np.logaddexp(lp[:, index[c]], lp[:, index[c.upper()]])
    if "i" in index and "l" in index:          # ... and i and l one (SHAPE_KEY)
        merged[:, index["i"]] = merged[:, index["l"]] = np.logaddexp(merged[:, index["i"]],
                                                                    merged[:, index["l"]])
    if any(ch not in index for w in options for ch in w):
        return None
    width = max(map(len, options))
    labels = np.full((len(options), width), -1, np.int64)
    for n, w in enumerate(options):
        labels[n, :len(w)] = [index[ch] for ch in w]
    score = sequence_log_likelihood(np.broadcast_to(merged, (len(options),) + lp.shape),
                                    labels)
    score += np.array([lexicon[w] + LEXICON_GAIN if w in lexicon else 0.0 for w in options])
    best = int(np.argmax(score))
    return options[best] if best else None


# a word's widest gap at least this many character heights (and SPLIT_APART times its next
# widest) may be a lost word space: the word is split there when it is no lexicon word and
# both its parts are, or become one (lexicon_word): "shoppinghixt" -> "shopping hit"
SPLIT_GAP = 0.3
SPLIT_APART = 1.5
SPLIT_MIN = 2           # letters each part keeps; a part this short must be a word among ...
SPLIT_COMMON = 200      # ... the lexicon's this many commonest (it, of, is: the lexicon holds
                        # 514 of the 676 pairs of letters, so ne ha would pass as "words")


def _word_columns(columns, a: int, b: int, length: int) -> slice:
    """The columns of a line's log-probabilities that belong to its characters a..b-1: from
    half-way to the one before to half-way to the one after."""
    lo = int(columns[a - 1] + columns[a]) // 2 + 1 if a else 0
    hi = int(columns[b - 1] + columns[b]) // 2 + 1 if b < len(columns) else length
    return slice(lo, hi)


def _split_words(labels, columns, spaces, gaps, lp, classes, lexicon, words) -> list:
    """A line's spaces with the words the lexicon splits in two at their widest gap
    (SPLIT_GAP): a word space the gaps alone did not show, where the word read is no lexicon
    word, nor a few edits from one (lexicon_word), and each part is or becomes one."""
    from ocrkit.page.lexicon import prior
    common = prior(SPLIT_COMMON - 1)            # the log-prior of the last of them
    spaces = list(spaces)
    starts = [0] + [i + 1 for i, s in enumerate(spaces) if s]
    ends = starts[1:] + [len(labels)]

    def word(a, b):
        read = "".join(classes[k] for k in labels[a:b])
        if b - a <= SPLIT_MIN:
            return read, lexicon.get(read.lower(), -np.inf) >= common
        return read, read.lower() in lexicon or \
            lexicon_word(lp[_word_columns(columns, a, b, len(lp))], read, classes, lexicon,
                         words) is not None
    for a, b in zip(starts, ends):
        if b - a < 2 * SPLIT_MIN:
            continue
        inner = np.asarray(gaps[a:b - 1], float)
        k = int(np.argmax(inner))
        widest, rest = inner[k], np.delete(inner, k)
        if widest < SPLIT_GAP or widest < SPLIT_APART * rest.max(initial=0) \
                or not SPLIT_MIN <= k + 1 <= b - a - SPLIT_MIN:
            continue
        read, known = word(a, b)
        if not read.isalpha() or known:
            continue
        if word(a, a + k + 1)[1] and word(a + k + 1, b)[1]:
            spaces[a + k] = True
    return spaces


def _lexicon_line(labels, conf, columns, spaces, lp, classes, lexicon, words):
    """One line's reading (class indices, confidences, columns, spaces after each character)
    under its columns' log-probabilities lp (T, C), with each word looked up in the lexicon
    (lexicon_word, over the columns between its neighbours'). A replaced word's letters keep
    the case the reading gave the word (ALL CAPS, Capitalised or as read) and the columns of
    the letters they align with; a letter put in between two is placed between their
    columns. -> the same, and `sure` (k,) the letters the lexicon chose."""
    from rapidfuzz.distance import Levenshtein
    index = {c: i for i, c in enumerate(classes)}
    starts = [0] + [i + 1 for i, s in enumerate(spaces) if s]
    ends = starts[1:] + [len(labels)]
    new_labels, new_conf, new_cols, sure, after = [], [], [], [], []
    for a, b in zip(starts, ends):
        read = "".join(classes[k] for k in labels[a:b])
        new = lexicon_word(lp[_word_columns(columns, a, b, len(lp))], read, classes, lexicon,
                           words)
        cols = columns[a:b].astype(np.float64)
        if new is None:
            word, word_conf, placed, chosen = labels[a:b], conf[a:b], cols, False
        else:
            new = new.upper() if read.isupper() else new.capitalize() if read[0].isupper() \
                else new
            placed = np.zeros(len(new))
            for _, i1, i2, j1, j2 in Levenshtein.opcodes(read.lower(), new.lower()):
                if i2 - i1 == j2 - j1:
                    placed[j1:j2] = cols[i1:i2]
                elif j2 > j1:
                    left = cols[i1 - 1] if i1 else cols[0] - 1
                    right = cols[i2] if i2 < len(cols) else cols[-1] + 1
                    placed[j1:j2] = np.linspace(left, right, j2 - j1 + 2)[1:-1]
            word = [index[ch] for ch in new]
            word_conf, chosen = [float(np.min(conf[a:b]))] * len(new), True
        new_labels.extend(word), new_conf.extend(word_conf), new_cols.extend(placed)
        sure.extend([chosen] * len(word))
        after.extend([False] * (len(word) - 1) + [True])       # a space after each word ...
    return (np.array(new_labels, np.int64), np.array(new_conf), np.array(new_cols),
            np.array(sure, bool), after[:-1])                  # ... but the last


def page_text(readings: list[LineReading], model, context: bool = True,
              case: str = "auto") -> str:
    """The text of a page read line by line, after the page pipeline's rules for any
    reader: digit/letter look-alikes settled by the rest of their word (`context`,
    ocrkit.page.read.settle_lookalikes) and, with `case` "auto", a page whose sure letters
    are capitals read in capitals (ocrkit.page.case.page_case); "upper" always, "mixed"
    never (the model's own case)."""
    from ocrkit.page.model import Char
    from ocrkit.page.read import settle_lookalikes
    index = {c: i for i, c in enumerate(model.classes)}
    lines = []
    for r in readings:
        chars = [Char(c, (0, 0, 0, 0), float(p)) for c, p in zip(r.text, r.confidence)]
        if context:
            start = 0
            for end in [i for i, c in enumerate(r.text) if c == " "] + [len(r.text)]:
                settle_lookalikes(chars[start:end], index, r.probs[start:end])
                start = end + 1
        lines.append(chars)
    upper = case == "upper" or (case == "auto" and in_capitals(readings))
    text = ["".join(c.label for c in line) for line in lines]
    return "\n".join(t.upper() if upper else t for t in text if t)


def in_capitals(readings: list[LineReading]) -> bool:
    """Whether a page read line by line is written in capitals: its sure letters whose case
    shows in their shape are (almost) all capitals (ocrkit.page.case.page_case)."""
    from ocrkit.page.case import page_case
    labels = [c for r in readings for c in r.text if c != " "]
    confidence = [p for r in readings for c, p in zip(r.text, r.confidence) if c != " "]
    return page_case(labels, confidence) == "upper"


BAND_REACH = 0.8        # line heights a crop may reach above and below its band
MAX_SLOPE = 0.25        # the steepest line levelled (about 14 degrees); steeper ones are clipped


def line_slope(line) -> float:
    """The slope (rows per column) of a line of atoms: a least-squares line through their
    boxes' bottoms, fitted again without those more than a quarter band height off it (a
    descender, a dot), clipped to MAX_SLOPE; 0 for lines of fewer than 3 atoms. The page was
    turned level as a whole (page/clean); this is what is left: a line written uphill."""
    boxes = line.boxes.astype(np.float64)
    x, y = (boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]
    if len(boxes) < 3 or np.ptp(x) < 1:
        return 0.0
    keep = np.ones(len(x), bool)
    for _ in range(3):
        slope, icpt = np.polyfit(x[keep], y[keep], 1)
        near = np.abs(y - (slope * x + icpt)) <= (line.band[1] - line.band[0]) / 4
        if near.sum() < 3 or np.ptp(x[near]) < 1:
            break
        keep = near
    return float(np.clip(slope, -MAX_SLOPE, MAX_SLOPE))


def line_crops(cleaned, lines, atoms) -> tuple[list[np.ndarray], list[tuple[np.ndarray, int]]]:
    """The ink of each line the page pipeline found (ocrkit.page.clean.Cleaned, and
    ocrkit.page.segment.segment's lines and atom labels) as one level crop per line, other
    lines' ink masked out, and each crop's origin in working pixels: (tops, left), tops the
    page row of the crop's first row in each of its columns. Where a straight band would cut
    atoms, each column is shifted by the line's slope (line_slope), so a line written uphill
    reaches the line model level (not with its first word cut in half). A crop's rows are its atoms' extent,
    but no more than BAND_REACH band heights above and below the band of its characters
    (ascenders and descenders reach that far; a stray stroke would shrink the whole line)."""
    crops, origins = [], []
    for line in lines:
        x0, x1 = int(line.boxes[:, 0].min()), int(line.boxes[:, 2].max())
        # level only the lines a straight band would cut: a fitted slope is noisy on short
        # lines (ascenders one end, descenders the other), a cut line loses whole letters
        reach = BAND_REACH * (line.band[1] - line.band[0])
        cut = ((line.boxes[:, 1] < line.band[0] - reach)
               | (line.boxes[:, 3] > line.band[1] + reach))
        slope = line_slope(line) if cut.any() else 0.0
        middle = (x0 + x1) / 2

        def shift(x):           # rows a column at x is moved up to level the line
            return np.round(slope * (np.asarray(x, np.float64) - middle)).astype(int)

        centres = (line.boxes[:, 0] + line.boxes[:, 2]) / 2
        tops, bottoms = line.boxes[:, 1] - shift(centres), line.boxes[:, 3] - shift(centres)
        top, bottom = np.median(tops), np.median(bottoms)
        reach = BAND_REACH * (bottom - top)
        y0 = int(max(tops.min(), np.floor(top - reach)))
        y1 = int(min(bottoms.max(), np.ceil(bottom + reach)))
        if slope == 0.0:            # the common case: a plain window of the page
            own = np.isin(atoms[y0:y1, x0:x1], line.ids)
            crops.append(cleaned.ink[y0:y1, x0:x1] * own)
            origins.append((np.full(x1 - x0, y0), x0))
            continue
        column_tops = y0 + shift(np.arange(x0, x1))
        rows = column_tops[None, :] + np.arange(y1 - y0)[:, None]
        inside = (rows >= 0) & (rows < atoms.shape[0])
        rows = rows.clip(0, atoms.shape[0] - 1)
        cols = np.arange(x0, x1)[None, :]
        own = inside & np.isin(atoms[rows, cols], line.ids)
        crops.append(np.where(own, cleaned.ink[rows, cols], 0).astype(np.float32))
        origins.append((column_tops, x0))
    return crops, origins


def read_line(ink: np.ndarray, model) -> LineReading:
    """One line crop (h, w) float32, ink 1 on 0, any height -> LineReading(text, confidence,
    x): see read_lines."""
    return read_lines([ink], model)[0]


def load_line_model(path=None):
    """A line model by path, or the shipped models/line.pkl (`make line-model` trains it;
    package data of ocrkit.models, as default.pkl)."""
    from ocrkit import modelfile
    model = modelfile.load(path or modelfile.shipped_model_path("line"))
    if model.kind != "line":
        raise OcrkitError(f"{model.source}: a {model.kind}, not a line model")
    return model


# -- training ------------------------------------------------------------------------------------
NEW_CLASS_BIAS = -4.0   # a new class's starting score below the others: learnt, not guessed


def _grown(start, net) -> dict:
    """`start`'s parameters for `net`, whose output layer may have more classes: the known
    classes keep their weights; a new class starts from the output layer's weights of its
    nearest kin, the blank (small random columns would do too, but a new class then wins
    columns at random in the first batches), with NEW_CLASS_BIAS added."""
    params = dict(start.network.get_params())
    last = f"{len(net.specs) - 1}"
    w, b = params[f"{last}.W"], params[f"{last}.b"]
    grow = net.get_params()[f"{last}.b"].shape[0] - b.shape[0]
    if grow > 0:
        params[f"{last}.W"] = np.concatenate([w, np.repeat(w[..., :1], grow, -1)], -1)
        params[f"{last}.b"] = np.concatenate([b, np.full(grow, b[0] + NEW_CLASS_BIAS, b.dtype)])
    return params


def train_lines(*, lines: int = 8000, epochs: int = 20, batch_size: int = 16, lr: float = 3e-3,
                width: int = WIDTH, valid_lines: int = 500, test_lines: int = 500,
                synth_per_class: int = 200, printed: float = LINE_PRINTED, seed: int = 0,
                data_dir=None, progress: bool | None = None, pools=None, init=None):
    """Train a line model with the one Trainer and CTCLoss; returns (Model, TrainResult).

    The training set is `lines` random texts (ocrkit.data.lines.random_texts); each epoch
    draws them anew, with fresh characters from EMNIST's train split and synth62's and fresh
    writer geometry (the LineComposer is the Trainer's augmentation). Validation and test
    lines are drawn once, from the valid and test splits; `printed` of every set's lines are
    set in a font instead (ocrkit.data.lines.printed_lines: a form's labels); the weights kept
    are those with the lowest validation CER, and the model's scores hold the validation and test CER.
    `pools` (train, valid, test GlyphPools) replaces the EMNIST/synth pools (tests).

    `init` (a line model file, or a Model) trains that model further: the network starts
    from its parameters (ocrkit.train.start_network, as fine-tuning does) instead of random
    ones, with a fresh optimizer and schedule. Its architecture and classes must be
    line_specs()' and LINE_CLASSES, or those of a model that knew only the first of
    LINE_CLASSES (the 64 before punctuation): its output layer then grows new rows for the
    new classes, their biases starting low (_grown) (OcrkitError otherwise). The model's
    training record says where it started (`init`, that model's own training record `init_training`, and
    `init_valid_cer`, its CER on this run's validation lines before the first step).
    """
    from ocrkit import modelfile
    from ocrkit.data.lines import LineComposer, glyph_pool, random_texts
    from ocrkit.engine import Network, make_optimizer
    from ocrkit.engine.ctc import CTCLoss
    from ocrkit.train import Trainer, start_network

    start = None
    if init is not None:            # before the data: a wrong file fails at once
        start = init if isinstance(init, modelfile.Model) else load_line_model(init)
        name = start.source or "the initial model"
        if start.kind != "line":
            raise OcrkitError(f"{name}: a {start.kind}, not a line model")
        known = tuple(start.classes)
        if start.network.specs != line_specs(len(known)) or known != LINE_CLASSES[:len(known)]:
            raise OcrkitError(f"{name}: its architecture or classes are not those train-lines "
                              f"builds (ocrkit.lines.line_specs, {len(LINE_CLASSES)} classes or "
                              "the first of them); it cannot be trained further here")
    if pools is None:
        pools = [glyph_pool(s, synth_per_class, data_dir) for s in ("train", "valid", "test")]
    train_pool, valid_pool, test_pool = pools

    def drawn(pool, n, stream):
        texts = random_texts(n, np.random.default_rng([seed, stream]))
        return LineComposer(pool, width, printed=printed)(
            texts, np.random.default_rng([seed, stream, 1])), texts

    texts = random_texts(lines, np.random.default_rng([seed, 0]))
    valid = drawn(valid_pool, valid_lines, 1)
    net = Network(line_specs(), (HEIGHT, width), np.random.default_rng(seed))
    if start is not None:
        start_network(net, _grown(start, net), start.source or "the initial model")
    loss = CTCLoss()
    trainer = Trainer(net, loss, make_optimizer("adam", lr), epochs=epochs,
                      batch_size=batch_size, schedule="cosine", seed=seed,
                      augment=LineComposer(train_pool, width, printed=printed),
                      progress=progress, desc="lines")
    provenance = {}
    if start is not None:
        provenance = {"init": start.source or "a line model given in memory",
                      "init_training": dict(start.training),
                      "init_valid_cer": 1 - trainer.evaluate(*valid)[1]}
    result = trainer.fit(texts, texts, valid=valid)
    test_loss, test_acc = trainer.evaluate(*drawn(test_pool, test_lines, 2))
    config = {"lines": lines, "epochs": epochs, "batch_size": batch_size, "lr": lr,
              "width": width, "valid_lines": valid_lines, "synth_per_class": synth_per_class,
              "printed": printed,
              "seed": seed, "optimizer": "adam", "schedule": "cosine",
              "best_epoch": result.best_epoch, "stopped": result.stopped,
              "seconds": round(result.seconds, 1), **provenance}
    model = modelfile.Model(net, LINE_CLASSES, "line", training=config, history=result.history)
    model.scores = {"valid_cer": 1 - result.best_score, "test_cer": 1 - test_acc,
                    "test_loss": test_loss, "dataset": "lines composed from emnist ByClass "
                    "and synth62 characters"}
    return model, result
