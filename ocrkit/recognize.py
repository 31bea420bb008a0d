"""The OCR pipeline: image -> Page with text, boxes and confidences.

    page = read_page("photo.jpg", model)
    print(page.text)

The page is segmented (ocrkit.segment), each character crop goes through the same character
normaliser as folder datasets, all crops are classified in one batch, and digit/letter
look-alikes are settled from the rest of their word.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ocrkit.data.normalize import normalise_character, to_grey
from ocrkit.errors import OcrkitError
from ocrkit.segment import ink_map, find_characters

MAX_PIXELS = 200e6          # larger images are refused before decoding (bounded memory)
DRAFT_SIDE = 4000           # JPEGs with both sides over twice this are decoded reduced
# PIL modes whose arrays are pixel values (and I;16 in any byte order); any other (palette
# "P", CMYK, YCbCr, ...) is converted to RGBA first
ARRAY_MODES = ("1", "L", "LA", "I", "I;16", "F", "RGB", "RGBA")

# digit <-> letter look-alikes, settled by the rest of the word
LOOKALIKES = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
LOOKALIKES.update({v: k for k, v in list(LOOKALIKES.items())})


@dataclass
class Char:
    label: str
    box: tuple                  # (x0, y0, x1, y1) in image pixels
    confidence: float
    alternatives: list          # [(label, probability)] best first, top 3
    image: np.ndarray | None = field(default=None, repr=False)   # the canonical 32x32 crop


@dataclass
class Word:
    chars: list

    @property
    def text(self) -> str:
        return "".join(c.label for c in self.chars)

    @property
    def box(self) -> tuple:
        return _union([c.box for c in self.chars])

    @property
    def confidence(self) -> float:
        return float(min(c.confidence for c in self.chars))


@dataclass
class Line:
    words: list

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple:
        return _union([w.box for w in self.words])


@dataclass
class Page:
    path: str
    size: tuple                 # (width, height) in pixels
    lines: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def chars(self) -> list:
        return [c for line in self.lines for w in line.words for c in w.chars]


def _union(boxes):
    b = np.array(boxes)
    return (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))


def load_image(path, with_size: bool = False):
    """Read an image file (JPEG/PNG/TIFF/BMP/GIF, 8/16-bit, grey/RGB/RGBA/palette/CMYK)
    upright, as grey (H, W) float32 in [0, 1].

    EXIF orientation (phone photos) is applied; a clear OcrkitError for anything unreadable.
    A JPEG with both sides over 2 * DRAFT_SIDE is decoded at 1/2, 1/4 or 1/8 of its size; with
    `with_size`, returns (grey, (width, height)) where (width, height) is the upright size of
    the image in the file, which read_page(..., size=) reports boxes in.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    path = Path(path)
    if path.is_dir():
        raise OcrkitError(f"{path}: is a folder, not an image")
    Image.MAX_IMAGE_PIXELS = None           # ocrkit bounds the size itself, below
    try:
        with Image.open(path) as im:
            full = im.size
            if im.format == "JPEG":
                im.draft("L", (DRAFT_SIDE, DRAFT_SIDE))  # a huge JPEG: 1/2, 1/4 or 1/8
            if im.width * im.height > MAX_PIXELS:
                raise OcrkitError(f"{path}: {im.width}x{im.height} is too large "
                                  f"(at most {MAX_PIXELS / 1e6:.0f} megapixels; downscale it)")
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):    # EXIF turns it sideways
                full = full[::-1]
            im = ImageOps.exif_transpose(im)
            if im.mode not in ARRAY_MODES and not im.mode.startswith("I;16"):
                im = im.convert("RGBA")     # palette, CMYK, YCbCr, ...: colours, not indices
            array = np.asarray(im)
    except FileNotFoundError:
        raise OcrkitError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise OcrkitError(f"{path}: not an image (or a format ocrkit cannot read)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise OcrkitError(f"{path}: unreadable or truncated image ({exc})") from None
    if array.ndim == 0 or min(array.shape[:2]) < 8:
        raise OcrkitError(f"{path}: image of {array.shape[1] if array.ndim > 1 else 0}x"
                          f"{array.shape[0]} pixels is too small to hold text")
    if array.dtype == np.int32 or array.dtype == np.uint16 or array.dtype == np.int16:
        array = array.astype(np.float32) / (65535.0 if array.max() > 255 else 255.0)
    grey = to_grey(array)
    return (grey, (int(full[0]), int(full[1]))) if with_size else grey


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


LOOKAHEAD = 3     # truth lines a read line may skip ahead to (lines the OCR missed)


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


def save_crops(page: Page, folder, truth: str | None = None, name: str | None = None) -> dict:
    """Write every character of `page` as a 32x32 PNG (dark on light, as the model saw it) to
    folder/<label>/<name>-<line>-<n>.png: a class-folder dataset for `ocrkit finetune`.

    Each line the OCR read is matched to one of the next LOOKAHEAD truth lines (in order)
    with as many characters (spaces aside) that agrees with the reading (case aside) on more
    than half of them; its characters take the truth's labels, case as written. Lines without such a match keep the model's reading,
    to be checked by hand. Returns {"written": n, "from_truth": n}.
    """
    from PIL import Image
    folder = Path(folder)
    expected = ["".join(t.split()) for t in truth.splitlines() if t.strip()] if truth else []
    name = name or Path(page.path).stem or "page"
    written = from_truth = 0
    next_truth = 0
    for n, line in enumerate(page.lines):
        chars = [c for w in line.words for c in w.chars]
        read = "".join(c.label for c in chars)
        known = ""
        for t in range(next_truth, min(next_truth + LOOKAHEAD, len(expected))):
            cand = expected[t]
            agree = sum(a == b for a, b in zip(cand.upper(), read.upper()))
            if len(cand) == len(read) and 2 * agree > len(read):
                known, next_truth = cand, t + 1
                break
        use_truth = bool(known)
        for k, c in enumerate(chars):
            label = known[k] if use_truth else c.label
            if label in ("/", "\\", ".") or not label.strip():
                continue                        # not a folder name
            target = folder / label / f"{name}-{n + 1:03d}-{k + 1:03d}.png"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.round((1 - c.image) * 255).astype(np.uint8)).save(target)
            except OSError as exc:
                raise OcrkitError(f"{target}: cannot write crop ({exc.strerror or exc})") \
                    from None
            written += 1
            from_truth += use_truth
    return {"written": written, "from_truth": from_truth}


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
