"""Stage 5, read: the candidate characters of a page -> one batch through the model -> Page.

    page = read_page(image_array, model)      # or ocrkit.Reader(model).read("photo.jpg")
    print(page.text)

The stages run in reading order: the page is cleaned (ocrkit.page.clean) and segmented into
lines of atoms (ocrkit.page.segment); every candidate character (ocrkit.page.cuts) goes through
the one character normaliser and the whole page's candidates through the model at once; per
line the best path of candidates is chosen, words are split at the line's wide gaps, and
digit/letter look-alikes are settled from the rest of their word.
"""
from __future__ import annotations

import re

import numpy as np

from ocrkit.data.dataset import REJECT
from ocrkit.data.normalize import normalise_character
from ocrkit.errors import OcrkitError
from ocrkit.page import case as case_stage
from ocrkit.page import cuts
from ocrkit.page import lexicon as lexicon_stage
from ocrkit.page.clean import clean
from ocrkit.page.image import as_page_array, load_page
from ocrkit.page.model import Char, Line, Page, ProcessingStep, Word
from ocrkit.page.segment import drop_faint, even_pitch, segment, word_spaces

# digit <-> letter look-alikes, settled by the rest of the word
LOOKALIKES = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
LOOKALIKES.update({v: k for k, v in list(LOOKALIKES.items())})
LOOKALIKE_CHANCE = 0.02    # a look-alike is taken when the model gives it this share of the
                            # reading's probability (a real chance)
LOOKALIKES["l"] = "1"       # a small l among digits is a 1 (a 1 among letters stays I or l:
                            # the case stage tells them apart by the word)



RECOGNIZERS = ("auto", "cuts", "line")
# a line read by the line model is left out when the character model rejects its characters
# (REJECT: not one character) with a mean probability above this: not text
JUNK_LINE = 0.9


def read_page(image, model, context: bool = True, path: str = "", size=None,
              alphabet: str | None = None, case: str = "auto", lexicon=True, *,
              line_model=None, recognizer: str = "auto", rules: bool = True,
              clutter: bool = True, deskew: bool = True, cut: bool = True) -> Page:
    """An image (a path, or an array: grey, RGB or RGBA, any numeric dtype, see
    ocrkit.page.image.as_page_array), dark ink on lighter paper -> Page.

    `size`: the (width, height) of the file `image` was decoded from (it may have been
    decoded reduced; see load_page); boxes and Page.size are in its pixels. Default: the
    array's. `alphabet`: the only characters the page may hold (a whitelist, e.g.
    "0123456789"): the best class among them is chosen, reported with the model's own
    probability for it, and alternatives come from the alphabet only; case is matched loosely.
    `case`: "auto" (capitals for a page written in capitals, else "mixed"), "upper" or
    "mixed" (see ocrkit.page.case). `lexicon`: True for the English word list, a path to
    another, or False (see ocrkit.page.lexicon; off with `context` off too).
    `recognizer`: how a line's characters are found: "cuts" (candidate runs of atoms read by
    the character `model`, the best path chosen), "line" (the whole line read by
    `line_model`, CTC: ocrkit.lines) or "auto" (the line model, but the cuts for a page it
    reads as written in capitals; "cuts" when there is no line model). Both feed the same
    word rules: look-alikes, lexicon, case. `rules`, `clutter`, `deskew`, `cut` switch those
    steps off (for comparisons and tests).
    """
    if case not in case_stage.MODES:
        raise OcrkitError(f"case {case!r}: choose one of {', '.join(case_stage.MODES)}")
    if recognizer not in RECOGNIZERS:
        raise OcrkitError(f"recognizer {recognizer!r}: choose one of {', '.join(RECOGNIZERS)}")
    if recognizer == "line" and line_model is None:
        raise OcrkitError("recognizer 'line' needs a line model")
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        path = path or str(image)
        image, size = load_page(image)
    try:
        image = as_page_array(image)
    except ValueError as exc:
        raise OcrkitError(f"{path or 'image'}: {exc}") from None
    h, w = image.shape[:2]
    size = (w, h) if size is None else (int(size[0]), int(size[1]))
    cleaned = clean(image, rules=rules, clutter=clutter, deskew=deskew)
    try:
        lines, atoms = segment(cleaned.mask, cleaned.height, cleaned.stroke)
        lines = drop_faint(lines, atoms, cleaned.ink)
    except OcrkitError as exc:
        raise OcrkitError(f"{path or 'image'}: {exc}") from None
    page = Page(path, size, steps=_steps(cleaned, rules, clutter, deskew, cut))
    if not lines:
        return page
    classes = np.array(model.classes)
    allowed = classes != REJECT
    if alphabet:
        allowed &= np.isin(classes, sorted(alphabet_classes(alphabet, model.classes)))
    to_file = np.array([size[0] / w, size[1] / h] * 2)      # working pixels -> the file's
    words_of = lexicon_stage.load(None if lexicon is True else str(lexicon)) \
        if lexicon and context else None
    found, junk, capitals = None, np.zeros(len(lines), bool), None
    if line_model is not None and recognizer != "cuts":
        from ocrkit.lines import in_capitals, line_crops, read_lines
        inks, origins = line_crops(cleaned, lines, atoms)
        readings = read_lines(inks, line_model, words_of)
        by_line, junk = _by_line_model(readings, inks, origins, line_model, model, classes,
                                       allowed, cleaned, to_file)
        capitals = in_capitals(readings)
        if recognizer == "line" or not capitals:
            found = by_line
    used = "cuts" if found is None else "line"
    index = dict(zip(model.classes, range(len(classes))))
    seen = None
    if found is None:
        # the lines the two models agree are no writing (a sheet's edge) are not cut either
        kept = np.flatnonzero(~junk)
        found, numbers = _by_cuts(cleaned, [lines[k] for k in kept], atoms, model, classes,
                                  allowed, cut, to_file)
        if capitals is not None:
            # the line model's reading of each line the cuts read, at working pixels
            seen = [(origins[k][1] + readings[k].x, readings[k].text,
                     origins[k][1] + readings[k].marks, readings[k].confidence)
                    for k in kept[numbers]]
            for k, ((chars, words, work, probs), (xs, text, marks, _)) in enumerate(
                    zip(found, seen)):
                # an exclamation or question mark it read is not the cuts' 1 or 7 there
                drop = _at_marks([c.label for c in chars], work, marks)
                found[k] = _compact((chars, [w for word in words for w in _split_at(word, drop)],
                                     work, probs))
                if context:
                    # a digit or its letter twin (1/I, 5/S, ...) as it read it there: to the
                    # character model the two are one shape, the line model saw the line
                    _twins_as_read(found[k][0], found[k][2], found[k][3], xs, text, index,
                                   allowed)
    page.steps.append(ProcessingStep("recognize", "processing", "characters found by "
                                     + ("the cuts" if used == "cuts" else "the line model"),
                                     {"recognizer": recognizer, "used": used}))
    for chars, words, work, probs in found:
        for word in words:
            if context:
                settle_lookalikes([chars[n] for n in word], index, probs[word])
            if words_of is not None:
                options = [_options(chars[n], probs[n], classes, allowed) for n in word]
                better = lexicon_stage.best_word(options, words_of)
                for n, label, opts in zip(word, better or (), options):
                    chars[n].label = label
                    # a label among none of its options is a stray digit the lexicon mended
                    # (lexicon.digit_in_word): the crop gave the letter no chance, so its
                    # probability says nothing; the digit's own (how sure a character
                    # stands there) is kept
                    if any(label == o for o, _ in opts):
                        chars[n].confidence = float(probs[n, index[label]])
    if seen is not None and words_of is not None:
        # a word of the cuts that is no word, where the line model read one over the same ink
        spelled = {str(c).lower() for c, ok in zip(classes, allowed) if ok}
        found = [_words_as_read(entry, xs, text, confidence, words_of, spelled, cleaned,
                                to_file) for entry, (xs, text, _, confidence) in zip(found, seen)]
    all_chars = [c for chars, _, _, _ in found for c in chars]
    if case != "auto":
        mode = case
    elif capitals is not None:
        # the line model's reading decides, as it decided the recognizer: the committee's
        # averaged probabilities of a line it read are too low for page_case's sure letters
        mode = "upper" if capitals else "mixed"
    else:
        mode = case_stage.page_case([c.label for c in all_chars], [c.confidence for c in all_chars])
    for chars, words, work, _ in found:
        labels = case_stage.settle_case([c.label for c in chars], work, mode,
                                        [n for n, word in enumerate(words) for _ in word],
                                        words_of)
        for c, label in zip(chars, labels):
            c.label = label
        if mode == "upper":         # a comma or period among capitals ends its word
            mark = case_stage.marks([c.label for c in chars], work)
            words = [part for word in words for part in _split_at(word, mark)]
        if words:                   # (a line of marks alone is no line)
            page.lines.append(Line([Word([chars[n] for n in word]) for word in words]))
    page.steps.append(ProcessingStep("case", "processing", "case of look-alike letters from "
                                     "line geometry", {"mode": case, "decided": mode}))
    ab = page_calibration(model)
    if ab is not None and all_chars:
        # the confidence after the committee, the look-alikes, the lexicon and the case is
        # mapped to the chance the character is right on real pages (make calibrate)
        for c, p in zip(all_chars, calibrate_confidence([c.confidence for c in all_chars], ab)):
            c.confidence = float(p)
    return page


def _by_cuts(cleaned, lines, atoms, model, classes, allowed, cut, to_file) -> tuple:
    """The lines read by the cuts: every run of 1-4 atoms of a line (ocrkit.page.cuts) through
    the character normaliser and the model in one batch, then per line the best path of runs.
    -> ([(chars, words (lists of char indices), work boxes (N, 4), probs (N, classes))] of
    the lines where it found characters, those lines' numbers in `lines`)."""
    if not lines:
        return [], np.zeros(0, int)
    spans = [cuts.candidates(line.boxes, line.cluster, line.height) if cut
             else [(i, i + 1) for i in range(len(line))] for line in lines]
    crops, where = [], []
    for n, (line, line_spans) in enumerate(zip(lines, spans)):
        for i, j in line_spans:
            x0, y0 = line.boxes[i:j, :2].min(0)
            x1, y1 = line.boxes[i:j, 2:].max(0)
            window = atoms[y0:y1, x0:x1]
            # a line's atoms are numbered left to right, so a span's are one range of labels
            crop = cleaned.ink[y0:y1, x0:x1] * ((window >= line.ids[i]) & (window <= line.ids[j - 1]))
            crops.append(normalise_character(crop, ink_on_dark=True))
            where.append((n, i, j, x0, y0, x1, y1))
    crops = np.stack(crops)
    raw = calibrated(model, model.predict_proba(crops))
    # a twin's two cases (c/C, o/O, ...) are one shape to the model: their probabilities are
    # summed, and the line's geometry decides the case (ocrkit.page.case)
    probs = case_stage.merge_twins(raw, model.classes)
    reject = raw[:, list(classes).index(REJECT)] if REJECT in model.classes else 0.0
    # whether a candidate is one character is judged over all classes (a whitelist decides
    # which character it is, not where characters are)
    best = np.where(classes != REJECT, probs, 0.0).max(1)
    prior = np.concatenate([cuts.prior(line.boxes, line.cluster, line_spans, line.height)
                            for line, line_spans in zip(lines, spans)]) if cut else 0.0
    scores = np.log(np.maximum(best, 1e-9)) + cuts.CHAR_BONUS + prior
    # ... or is it no character at all (a speck, a bracket, what is left of a rule)?
    skip = np.log(np.maximum(reject, 1e-12)) + prior - np.concatenate(
        [cuts.skip_cost(line.boxes, line.cluster, line_spans, line.height)
         for line, line_spans in zip(lines, spans)])
    skipped = skip > scores
    scores = np.maximum(scores, skip)
    label_of = np.where(allowed, probs, -1.0).argmax(1)
    order = np.argsort(-np.where(allowed, raw, -1.0), axis=1)[:, :min(3, int(allowed.sum()))]
    start, found, numbers = 0, [], []
    for number, (line, line_spans) in enumerate(zip(lines, spans)):
        chosen = [start + s for s in cuts.best_path(len(line), line_spans, scores[start:])]
        start += len(line_spans)
        chosen = [k for k in chosen if not skipped[k]]
        if not chosen:
            continue
        work = np.array([where[k][3:] for k in chosen], float)
        boxes = cleaned.to_input(work) * to_file
        chars = []
        for k, box in zip(chosen, boxes):
            c = int(label_of[k])
            alternatives = [(str(classes[o]), float(raw[k, o])) for o in order[k]]
            chars.append(Char(str(classes[c]), tuple(int(round(v)) for v in box),
                              float(probs[k, c]), alternatives, crops[k]))
        found.append((chars, _words(word_spaces(_gap_heights(work, line.height)),
                                    (work[:, 0] + work[:, 2]) / 2), work, probs[chosen]))
        numbers.append(number)
    return found, np.array(numbers, int)


def _by_line_model(readings, inks, origins, line_model, model, classes, allowed, cleaned,
                   to_file) -> list:
    """The lines read whole by the line model (ocrkit.lines.read_lines). Each character's box
    is the columns half-way to its neighbours and the ink in them; its crop is read by the
    character model too, and its probabilities are the two models' mean (the line model's
    those of the column it was read at, mapped onto the character model's classes; twins
    summed, as for the cuts): a committee of two, 36.7% -> 36.2% CER on the handwritten dev
    pages. (Leaving out what the character model rejects costs more than it saves, 49%:
    crops cut at the midpoints between columns often hold a piece of a neighbour.) Words as
    the reading split them. -> (the lines read, as _by_cuts returns them; junk (n,) bool, the
    lines left out because the character model rejects what the line model read in them)."""
    junk = np.zeros(len(readings), bool)
    to_model = np.zeros((len(line_model.classes), len(classes)), np.float32)
    for i, label in enumerate(line_model.classes):
        for j in np.flatnonzero(classes == label):
            to_model[i, j] = 1.0
    per_line = []
    for number, (reading, ink, (tops, ox)) in enumerate(zip(readings, inks, origins)):
        keep = np.array([c != " " for c in reading.text], bool)
        if not keep.any():
            continue
        centres = reading.x[keep]
        edges = np.concatenate([[centres[0] - (centres[1] - centres[0]) / 2
                                 if len(centres) > 1 else 0.0],
                                (centres[1:] + centres[:-1]) / 2,
                                [centres[-1] + (centres[-1] - centres[-2]) / 2
                                 if len(centres) > 1 else ink.shape[1]]])
        edges = np.clip(np.round(edges), 0, ink.shape[1]).astype(int)
        work, crops = [], []
        for n in range(len(centres)):
            x0, x1 = edges[n], max(edges[n + 1], edges[n] + 1)
            rows = np.flatnonzero((ink[:, x0:x1] > 0.25).any(1))
            y0, y1 = (rows[0], rows[-1] + 1) if len(rows) else (0, ink.shape[0])
            work.append((ox + x0, tops[x0:x1].min() + y0, ox + x1, tops[x0:x1].max() + y1))
            crops.append(normalise_character(ink[y0:y1, x0:x1], ink_on_dark=True))
        # the reading's spaces: after character n when a space follows it
        after = [not keep[i + 1] for i in np.flatnonzero(keep)[:-1]]
        per_line.append((number, reading.probs[keep] @ to_model, np.array(work, float), crops,
                         _words(after, centres)))
    if not per_line:
        return [], junk
    seen = calibrated(model, model.predict_proba(np.stack([c for *_, crops, _ in per_line
                                                            for c in crops])))
    reject_at = list(classes).index(REJECT) if REJECT in model.classes else None
    found, start = [], 0
    for number, line_p, work, crops, words in per_line:
        char_p = seen[start:start + len(crops)]
        start += len(crops)
        raw = ((line_p + char_p) / 2).astype(np.float32)
        if reject_at is not None and char_p[:, reject_at].mean() > JUNK_LINE:
            junk[number] = True     # the sheet's edge, a shadow, a lone stroke: not a line
            continue
        probs = case_stage.merge_twins(raw, list(classes))
        label_of = np.where(allowed, probs, -1.0).argmax(1)
        order = np.argsort(-np.where(allowed, raw, -1.0), axis=1)[:, :min(3, int(allowed.sum()))]
        boxes = cleaned.to_input(work) * to_file
        chars = []
        for n in range(len(crops)):
            k = int(label_of[n])
            alternatives = [(str(classes[o]), float(raw[n, o])) for o in order[n]]
            chars.append(Char(str(classes[k]), tuple(int(round(v)) for v in boxes[n]),
                              float(probs[n, k]), alternatives, crops[n]))
        found.append((chars, words, work, probs))
    return found, junk


MARK_LOOKALIKES = frozenset("1Il7")     # what a character model reads ! and ? as


def _at_marks(labels: list[str], work: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Which characters (labels, work boxes (n, 4)) are a tall mark the line model read at
    columns xs (working pixels): a MARK_LOOKALIKES label whose box spans one of them."""
    work = np.asarray(work, float).reshape(-1, 4)
    if not len(xs) or not len(labels):
        return np.zeros(len(labels), bool)
    spans = (work[:, :1] <= xs[None, :]) & (xs[None, :] <= work[:, 2:3])
    return spans.any(1) & np.array([c in MARK_LOOKALIKES for c in labels])


def _twins_as_read(chars: list, work: np.ndarray, probs: np.ndarray, xs: np.ndarray,
                   text: str, index: dict, allowed: np.ndarray) -> None:
    """A character read as one of a digit/letter twin pair (LOOKALIKES) takes the other when
    the line model read that other at its place (the one character of the line reading, at
    columns xs in working pixels, within its box), the alphabet `allowed` has it, and the
    character model gives it a real chance; in place, its confidence the shape's."""
    work = np.asarray(work, float).reshape(-1, 4)
    letters = np.array([c != " " for c in text], bool)
    xs, read = np.asarray(xs)[letters], [c for c in text if c != " "]
    for n, c in enumerate(chars):
        twin = LOOKALIKES.get(c.label)
        if twin is None or twin not in index or not allowed[index[twin]] or c.label == "l":
            continue
        inside = np.flatnonzero((work[n, 0] <= xs) & (xs <= work[n, 2]))
        if len(inside) == 1 and read[inside[0]].upper() == twin.upper() \
                and float(probs[n, index[twin]]) > LOOKALIKE_CHANCE * c.confidence:
            c.label = twin          # as sure as the shape was: the two are one to the model


def _words_as_read(entry: tuple, xs, text: str, confidence, lexicon: dict, allowed: set,
                   cleaned, to_file) -> tuple:
    """A line the cuts read (chars, words, work boxes, probs), with each word that is not in
    the lexicon replaced by the line model's reading `text` of the same ink where that is a
    lexicon word of three letters or more (the only word of the reading over the word's
    columns, xs in working pixels, give or take a character's height): touching letters the
    cuts found no cut between (IMA6, the G and E joined) the line model reads whole (Image).
    Each of the reading's letters goes to the character whose box holds its column (the
    nearest otherwise), a character given two is split into equal parts, one given none is
    left out; a letter's confidence is the reading's, its crop the ink of its box. Only words
    of the alphabet `allowed` (class names, lower case) are taken, each at most once, and
    only for a word of the cuts that is mostly letters."""
    chars, words, work, probs = entry
    spans = [m.span() for m in re.finditer(r"[^ ]+", text)]    # the reading's words
    new_chars, new_work, new_probs, new_words, taken = [], [], [], [], set()
    reach = float(np.median(work[:, 3] - work[:, 1])) if len(work) else 0.0
    for word in words:
        labels = [chars[n].label for n in word]
        # the word as letters (a look-alike digit as its letter: IMA6 is IMAG), if it is
        # mostly letters (a number of look-alikes, 1000, is a number)
        spelt = "".join(LOOKALIKES.get(c, c) if c.isdigit() else c for c in labels)
        lettered = sum(c.isalpha() for c in labels) > len(labels) / 2
        x0, x1 = work[word, 0].min() - reach, work[word, 2].max() + reach
        over = [(a, b) for a, b in spans if ((xs[a:b] >= x0) & (xs[a:b] <= x1)).any()]
        read = text[over[0][0]:over[0][1]] if len(over) == 1 and over[0] not in taken else ""
        if not (len(read) >= 3 and read.isalpha() and spelt.isalpha() and lettered
                and set(read.lower()) <= allowed
                and read.lower() in lexicon and spelt.lower() not in lexicon
                and ((xs[over[0][0]:over[0][1]] >= x0) & (xs[over[0][0]:over[0][1]] <= x1)).all()):
            new_words.append(list(range(len(new_chars), len(new_chars) + len(word))))
            new_chars += [chars[n] for n in word]
            new_work += [work[n] for n in word]
            new_probs += [probs[n] for n in word]
            continue
        taken.add(over[0])          # a reading's word replaces one word of the cuts at most
        a = over[0][0]
        centres = (work[word, 0] + work[word, 2]) / 2
        owner = [int(np.argmin(np.where((work[word, 0] <= x) & (x <= work[word, 2]), 0.0,
                                        np.abs(centres - x)))) for x in xs[a:a + len(read)]]
        placed = []
        for k, n in enumerate(word):
            mine = [i for i, o in enumerate(owner) if o == k]
            if not mine:
                continue
            box = work[n]
            cuts_at = np.linspace(box[0], box[2], len(mine) + 1)      # equal parts
            for i, left, right in zip(mine, cuts_at, cuts_at[1:]):
                piece = np.array([left, box[1], right, box[3]], float)
                file_box = cleaned.to_input(piece[None])[0] * to_file
                label = read[i]
                c0, c1 = int(np.floor(left)), max(int(np.ceil(right)), int(np.floor(left)) + 1)
                crop = normalise_character(cleaned.ink[int(box[1]):int(box[3]), c0:c1],
                                           ink_on_dark=True)
                placed.append(Char(label, tuple(int(round(v)) for v in file_box),
                                   float(confidence[a + i]), [(label, float(confidence[a + i]))],
                                   crop))
                new_work.append(piece)
                new_probs.append(probs[n])
        new_words.append(list(range(len(new_chars), len(new_chars) + len(placed))))
        new_chars += placed
    if not new_chars:
        return [], [], np.zeros((0, 4)), probs[:0]
    return new_chars, new_words, np.array(new_work, float), np.array(new_probs)


def _compact(entry: tuple) -> tuple:
    """A line (chars, words, work boxes, probs) with only the characters its words hold,
    renumbered: what later stages index by character stays aligned with the words."""
    chars, words, work, probs = entry
    keep = [n for word in words for n in word]
    at = {n: i for i, n in enumerate(keep)}
    return ([chars[n] for n in keep], [[at[n] for n in word] for word in words],
            np.asarray(work)[keep].reshape(-1, 4), np.asarray(probs)[keep])


def _split_at(word: list[int], drop: np.ndarray) -> list[list[int]]:
    """A word's character indices split where `drop` is set, those left out (no empty part)."""
    parts = [[]]
    for n in word:
        if drop[n]:
            parts.append([])
        else:
            parts[-1].append(n)
    return [p for p in parts if p]


def _words(spaces, centres) -> list[list[int]]:
    """Characters 0..len(spaces) grouped into words: a word ends where spaces[n] is true
    (a space between character n and n + 1), except inside a row of boxes (characters at
    `centres` (n,) evenly spaced, segment.even_pitch), whose characters' widths vary and
    leave gaps like spaces while their pitch does not; and a run of one-letter words is one
    word spaced out (_spaced_out)."""
    spaces = np.asarray(spaces, bool) & ~even_pitch(centres)
    words, current = [], [0]
    for n, space in enumerate(spaces, start=1):
        if space:
            words.append(current)
            current = [n]
        else:
            current.append(n)
    words.append(current)
    return _spaced_out(words)


SPACED_PART = 2         # words this short in a row, ...
SPACED_SINGLES = 3      # ... this many of them of one character, are one word spaced out


def _spaced_out(words: list[list[int]]) -> list[list[int]]:
    """Words (lists of character indices) with each run of short ones (SPACED_PART
    characters at most) that holds SPACED_SINGLES or more of a single character joined into
    one: a word written letter by letter with gaps between (one to a box of a form whose
    pitch the reading did not keep even, a heading spaced out), which no English text writes
    as three one-letter words in a row."""
    out, run = [], []

    def flush():
        if sum(len(w) == 1 for w in run) >= SPACED_SINGLES:
            out.append([n for w in run for n in w])
        else:
            out.extend(run)
        run.clear()
    for word in words:
        if len(word) <= SPACED_PART:
            run.append(word)
        else:
            flush()
            out.append(word)
    flush()
    return out


def temperature(model) -> float:
    """The model's calibration temperature (`scores["calibration"]["temperature"]`, set by
    `make calibrate`), 1 when it has none; bounded, as it comes from a file."""
    t = (model.scores or {}).get("calibration", {})
    t = t.get("temperature", 1.0) if isinstance(t, dict) else 1.0
    try:
        t = float(t)
    except (TypeError, ValueError):
        return 1.0
    return float(np.clip(t, 0.25, 10.0)) if np.isfinite(t) else 1.0


def calibrated(model, probs: np.ndarray) -> np.ndarray:
    """Probabilities softened (or sharpened) by the model's temperature: softmax(logits / T),
    so a reading's confidence is the chance it is right, as measured on held-out data."""
    t = temperature(model)
    if t == 1.0:
        return probs
    logp = np.log(np.maximum(probs, 1e-30)) / t
    logp -= logp.max(1, keepdims=True)
    p = np.exp(logp)
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def page_calibration(model):
    """The map `make calibrate` fitted from a read character's final confidence to the chance
    it is right on real pages, (a, b) of sigmoid(a * logit(c) + b)
    (`scores["calibration"]["page"]`); None when the model has none or it is not two finite
    numbers with a > 0 (it comes from a file)."""
    ab = (model.scores or {}).get("calibration", {})
    ab = ab.get("page") if isinstance(ab, dict) else None
    try:
        a, b = (float(v) for v in ab)
    except (TypeError, ValueError):
        return None
    return (a, b) if np.isfinite(a) and np.isfinite(b) and 0 < a <= 10 and abs(b) <= 10 else None


def calibrate_confidence(confidence, ab) -> np.ndarray:
    """Confidences after every decision -> the chance each is right: sigmoid(a logit(c) + b)."""
    c = np.clip(np.asarray(confidence, np.float64), 1e-6, 1 - 1e-6)
    return 1.0 / (1.0 + np.exp(-(ab[0] * np.log(c / (1 - c)) + ab[1])))


def _options(char: Char, p: np.ndarray, classes: np.ndarray, allowed: np.ndarray) -> list:
    """A character's readings for the lexicon [(label, probability)], best first: its label
    as read so far, then the likeliest other classes, one per letter whatever its case (twins'
    probabilities are already summed), a digit's letter twin (0 -> O) in its place."""
    out, seen = [(char.label, char.confidence)], {char.label.lower()}
    for c in np.argsort(-np.where(allowed, p, -1.0))[:2 * lexicon_stage.OPTIONS]:
        label = LOOKALIKES.get(str(classes[c]), str(classes[c])) if str(classes[c]).isdigit() \
            else str(classes[c])
        if label.lower() not in seen and allowed[c]:
            seen.add(label.lower())
            out.append((label, float(p[c])))
    return out[:lexicon_stage.OPTIONS + 1]


def _gap_heights(work: np.ndarray, height: float) -> np.ndarray:
    """Gaps between neighbouring characters (boxes (n, 4), working pixels) in line heights,
    measured between centres less half a width each, a thin letter (1, I, l) counted as 0.6
    of a height wide so its narrow box does not look like a space."""
    if len(work) < 2:
        return np.zeros(0)
    half = np.maximum(work[:, 2] - work[:, 0], 0.6 * height) / 2
    centre = (work[:, 0] + work[:, 2]) / 2
    return (centre[1:] - centre[:-1] - half[1:] - half[:-1]) / height


def _steps(cleaned, rules, clutter, deskew, cut) -> list:
    return [
        ProcessingStep("image", "preprocessing", "decoded upright, grey from the "
                       f"{cleaned.grey} channel", {"working_scale": round(cleaned.scale, 4)}),
        ProcessingStep("clean", "preprocessing", "lighting flattened, ink thresholded, "
                       "rules, box borders and clutter removed",
                       {"deskew_degrees": round(cleaned.angle, 2), "rules": rules,
                        "clutter": clutter, "deskew": deskew, "removed_pixels": cleaned.removed,
                        "char_height": round(cleaned.height, 1),
                        "stroke": round(cleaned.stroke, 2)}),
        ProcessingStep("segment", "processing", "components grouped into lines, clusters "
                       "and atoms", {}),
        ProcessingStep("cuts", "processing", "characters chosen from candidate atom runs by "
                       "recognition (dynamic programming)", {"enabled": cut,
                                                            "max_atoms": cuts.MAX_ATOMS}),
    ]


def alphabet_classes(alphabet: str, classes) -> set:
    """The model classes an --alphabet names: whitespace ignored, each character taken as
    given or, failing that, in the other case; OcrkitError for characters the model lacks."""
    chosen, unknown = set(), []
    for ch in set("".join(alphabet.split())):
        match = ch if ch in classes else next((c for c in (ch.upper(), ch.lower())
                                               if c in classes), None)
        if match is None:
            unknown.append(ch)
        else:
            chosen.add(match)
    if unknown or not chosen:
        raise OcrkitError(f"alphabet {alphabet!r}: {''.join(sorted(unknown)) or 'no character'} "
                          f"not among the model's classes {''.join(classes)}")
    return chosen


def settle_lookalikes(chars: list, index: dict, probs: np.ndarray) -> None:
    """In a word of mostly letters, read 0/1/2/5/6/8 as O/I/Z/S/G/B (and the reverse, and l
    as 1, in a word of mostly digits), when the model gives the look-alike a real chance."""
    kinds = [c.label.isdigit() for c in chars]
    for j, c in enumerate(chars):
        twin = LOOKALIKES.get(c.label)
        if twin is None or twin not in index or len(chars) < 2:
            continue
        others = kinds[:j] + kinds[j + 1:]
        digits = sum(others)
        letters = len(others) - digits
        want_digit = digits > letters
        if c.label.isdigit() != want_digit and (digits != letters):
            p_twin = float(probs[j][index[twin]])
            if p_twin > LOOKALIKE_CHANCE * c.confidence:
                c.label, c.confidence = twin, p_twin
