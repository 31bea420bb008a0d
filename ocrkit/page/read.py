"""Stage 4, read: character crops -> one batch through the model -> a Page.

    page = read_page("photo.jpg", model)
    print(page.text)

The page is cleaned (ocrkit.page.clean) and segmented (ocrkit.page.segment), each character
crop goes through the same character normaliser as folder datasets, all crops are classified
in one batch, and digit/letter look-alikes are settled from the rest of their word.
"""
from __future__ import annotations

import numpy as np

from ocrkit.data.normalize import normalise_character
from ocrkit.errors import OcrkitError
from ocrkit.page.clean import ink_map
from ocrkit.page.image import load_image
from ocrkit.page.model import Char, Line, Page, Word
from ocrkit.page.segment import find_characters

# digit <-> letter look-alikes, settled by the rest of the word
LOOKALIKES = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
LOOKALIKES.update({v: k for k, v in list(LOOKALIKES.items())})


def read_page(image, model, context: bool = True, path: str = "", size=None,
              alphabet: str | None = None) -> Page:
    """Read the text of a page: `image` is a path or a grey (H, W) array (dark ink on paper).

    `size`: the (width, height) of the original image `image` was decoded from (see
    load_image(with_size=True)); boxes and Page.size are in its pixels. Default: the array's.
    `alphabet`: the only characters the page may hold (a whitelist, e.g. "0123456789"): the
    best class among them is chosen, reported with the model's own probability for it (a
    forced reading keeps its low confidence), and alternatives come from the alphabet only.
    Case is matched loosely (an upper-case model reads alphabet "abc" as "ABC").
    """
    if not isinstance(image, np.ndarray):
        path = path or str(image)
        image, size = load_image(image, with_size=True)
    h, w = image.shape
    size = (w, h) if size is None else (int(size[0]), int(size[1]))
    ink, scale = ink_map(image)
    try:
        lines, labels = find_characters(ink)
    except OcrkitError as exc:
        raise OcrkitError(f"{path or 'image'}: {exc}") from None
    # working pixels -> original pixels, per axis (x, y, x, y)
    to_original = np.array([size[0] / w, size[1] / h] * 2) / scale
    page = Page(path, size)
    boxes = [b for line in lines for word in line for b in word]
    if not boxes:
        return page
    crops = np.stack([normalise_character(_crop(ink, labels, b), ink_on_dark=True)
                      for b in boxes])
    probs = model.predict_proba(crops)
    classes = np.array(model.classes)
    allowed = np.ones(len(classes), bool)
    if alphabet:
        allowed = np.isin(classes, sorted(alphabet_classes(alphabet, model.classes)))
        probs = probs * allowed         # not renormalised: confidences stay the model's own
    order = np.argsort(-np.where(allowed, probs, -1.0), axis=1)[:, :min(3, int(allowed.sum()))]
    i = 0
    for line in lines:
        out_words = []
        for word in line:
            chars = []
            for b in word:
                p = probs[i]
                alternatives = [(str(classes[k]), float(p[k])) for k in order[i]]
                box = tuple(int(round(v)) for v in to_original * (b.x0, b.y0, b.x1, b.y1))
                chars.append(Char(alternatives[0][0], box, alternatives[0][1], alternatives,
                                  crops[i]))
                i += 1
            if context:
                settle_lookalikes(chars, dict(zip(model.classes, range(len(classes)))),
                                  probs[i - len(word):i])
            out_words.append(Word(chars))
        page.lines.append(Line(out_words))
    return page


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


def _crop(ink, labels, b):
    window = labels[b.y0:b.y1, b.x0:b.x1]
    return ink[b.y0:b.y1, b.x0:b.x1] * np.isin(window, b.labels)


def settle_lookalikes(chars: list, index: dict, probs: np.ndarray) -> None:
    """In a word of mostly letters, read 0/1/2/5/6/8 as O/I/Z/S/G/B (and the reverse in a
    word of mostly digits), when the model gives the look-alike a real chance."""
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
            if p_twin > 0.02 * c.confidence:
                c.label, c.confidence = twin, p_twin
