"""Lines of hand-printed text composed from single characters, for training line models.

    pool = glyph_pool("train")                       # EMNIST ByClass train split + synth62
    texts = random_texts(1000, rng)                  # (1000, MAX_CHARS) line classes, -1 padded
    lines = LineComposer(pool)(texts, rng)           # (1000, 32, WIDTH) float32, ink 1 on 0
    LINE_CLASSES[texts[0][texts[0] >= 0]]            # the text drawn on line 0

EMNIST (and ocrkit's synth62 characters in canonical form) scale every character to its own
box: a lower-case o is as large as an O. A line puts each back at its true size and place in
the frame the synth skeletons use (cap top 0, baseline 1, in capital heights): capitals,
digits and ascenders (b d f h k l) stand from the cap line to the baseline, t and i a little
lower, x-height letters from X_TOP (0.4) down, descenders (g j p q y) hang to about 1.36.
Letters drawn smaller get their strokes thickened first, so that a line has one pen width.

Per line, one writer: size, slant, aspect, letter spacing (from slightly overlapping through
touching to wide) and word gaps; per character a little jitter of size, baseline and spacing.
Every character is placed by one vectorised bilinear gather of all the batch's characters
(each its own affine map from the line into its 32x32 glyph) and summed into the lines with
one bincount; then stroke width (thinner or thicker), blur and noise per line. The line is
scaled so its ink spans the height less a small margin, as ocrkit.lines.fit_height does for
real line crops; a line that would not fit the width is shrunk whole.

Punctuation (ocrkit.data.synth.PUNCTUATION: . , : ; ' " ( ) [ ] { } < > / - = + # ! ?) is
drawn at its true size from synth's skeletons (EMNIST has none) and written where code, forms
and notes put it: before and after words, as a word of its own, a line of a lone brace. The
line model learns it so that a bracket is not read as a letter; the page's text leaves it out
(ocrkit.lines.read_lines), as the 62-class character model knows none.

Line classes: 0 the CTC blank (""), 1 the space, 2.. the 62 characters of EMNIST ByClass
(0-9, A-Z, a-z), so class k >= 2 is LINE_CHARS[k - 2]: BYCLASS, then the punctuation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ocrkit.data.dataset import BYCLASS, SIZE
from ocrkit.data.synth import GLYPHS, PUNCTUATION, SPLIT_CODES, X_TOP, _parse, render_characters

LINE_CHARS = BYCLASS + PUNCTUATION      # what a line holds: 0-9, A-Z, a-z, then punctuation
LINE_CLASSES = ("", " ") + LINE_CHARS   # blank, space, then LINE_CHARS
SPACE, FIRST_CHAR = 1, 2
FIRST_MARK = FIRST_CHAR + len(BYCLASS)  # the first punctuation class
HEIGHT = 32                             # line height in pixels
WIDTH = 192                             # composed line width in pixels
MAX_CHARS = 14                          # characters and spaces a composed line holds at most
SYNTH_SHARE = 0.2                       # share of characters drawn from synth62, not EMNIST
DESCENDER = 1.36                        # bottom of g j p q y, in capital heights


PUNCT_STROKE = 0.08                     # half a pen width, in capital heights


def _frame() -> np.ndarray:
    """(len(LINE_CHARS), 2) top and bottom of each character in capital heights (cap top 0,
    baseline 1); a punctuation mark's from its skeletons, with half a pen width each side."""
    frame = np.tile([0.0, 1.0], (len(LINE_CHARS), 1))
    for ch in "bdfhkl":
        frame[BYCLASS.index(ch)] = (-0.03, 1.0)
    for ch, top in (("t", 0.15), ("i", 0.12)):
        frame[BYCLASS.index(ch)] = (top, 1.0)
    for ch in "acemnorsuvwxz":
        frame[BYCLASS.index(ch)] = (X_TOP, 1.0)
    for ch in "gpqy":
        frame[BYCLASS.index(ch)] = (X_TOP, DESCENDER)
    frame[BYCLASS.index("j")] = (0.12, DESCENDER)
    for i, mark in enumerate(PUNCTUATION):
        ys = [y for _, path in GLYPHS[mark] for stroke in _parse(path)
              for _, pts in stroke for _, y in pts]
        frame[len(BYCLASS) + i] = (min(ys) - PUNCT_STROKE, max(ys) + PUNCT_STROKE)
    return frame


FRAME = _frame()
#: x-height letters, drawn at about 0.6 of their EMNIST box: thickened (punctuation is drawn
#: at its true size already)
SMALL = ((FRAME[:, 1] - FRAME[:, 0]) < 0.7) & (np.arange(len(LINE_CHARS)) < len(BYCLASS))


@dataclass
class GlyphPool:
    """Characters to draw lines from: images uint8 (M, 32, 32) (ink 255 on 0), labels (M,)
    LINE_CHARS indices (ByClass characters canonical, punctuation at its true size), boxes
    (M, 4) (r0, r1, c0, c1) of the ink (above half strength), synth (M,) which are synth62's. Sorted by class, EMNIST before synth within a
    class, so each class and source is one range."""

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    synth: np.ndarray

    def __post_init__(self):
        key = self.labels * 2 + self.synth
        if np.any(np.diff(key) < 0):
            raise ValueError("a glyph pool is sorted by class, then source (GlyphPool.build)")
        self.start = np.searchsorted(self.labels, np.arange(len(LINE_CHARS) + 1))
        self.n_synth = np.bincount(self.labels[self.synth], minlength=len(LINE_CHARS))
        if np.any(np.diff(self.start) == 0):
            missing = [LINE_CHARS[k] for k in np.flatnonzero(np.diff(self.start) == 0)]
            raise ValueError(f"no glyphs of class {''.join(missing)}")

    @classmethod
    def build(cls, x: np.ndarray, y: np.ndarray, synth: np.ndarray) -> "GlyphPool":
        """From characters x (M, 32, 32) in [0, 1] with LINE_CHARS labels y (punctuation_glyphs
        draws the marks); the x-height letters' strokes are thickened here, once; blank
        images are left out."""
        from scipy import ndimage
        y, synth = np.asarray(y, np.int64), np.asarray(synth, bool)
        order = np.argsort(y * 2 + synth, kind="stable")
        x, y, synth = x[order], y[order], synth[order]
        small = SMALL[y]
        if small.any():
            x = x.copy()
            x[small] = ndimage.grey_dilation(x[small], footprint=np.array(
                [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], bool))
        from ocrkit.data.augment import ink_boxes
        boxes, keep = ink_boxes(x, 0.5)
        return cls(np.round(x[keep] * 255).astype(np.uint8), y[keep], boxes[keep], synth[keep])

    def __len__(self) -> int:
        return len(self.labels)

    def pick(self, classes: np.ndarray, rng: np.random.Generator, synth_share: float
             ) -> np.ndarray:
        """A random image of each class in `classes` (LINE_CHARS indices): a
        synth62 one with probability `synth_share`, else an EMNIST one (either source when
        the pool lacks the other)."""
        classes = np.asarray(classes, np.int64)
        lo, hi, fake = self.start[classes], self.start[classes + 1], self.n_synth[classes]
        use_synth = (rng.random(len(classes)) < synth_share) & (fake > 0)
        use_synth |= fake == hi - lo                      # no EMNIST images of the class
        first = np.where(use_synth, hi - fake, lo)
        count = np.where(use_synth, fake, hi - lo - fake)
        return first + (rng.random(len(classes)) * count).astype(np.int64)


def punctuation_glyphs(per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` images of each punctuation mark at its true size (x (M, 32, 32), LINE_CHARS
    labels y (M,)), drawn from synth's skeletons."""
    marks = np.repeat(np.arange(len(PUNCTUATION)), per_class)
    x = render_characters(marks, rng, PUNCTUATION, true_size=True)
    return x, marks + len(BYCLASS)


def glyph_pool(split: str, synth_per_class: int = 200, data_dir=None) -> GlyphPool:
    """The characters of one split (train, valid, test): `emnist62`'s (EMNIST ByClass, the
    split ocrkit.data keeps for it), `synth_per_class` synth62 characters a class from that
    split's stream (ocrkit.data.synth) and as many of each punctuation mark (at least 100)."""
    from ocrkit.data import load_dataset
    from ocrkit.data.synth import synth_dataset
    emnist = load_dataset("emnist62", split, data_dir)
    x, y = emnist.x, emnist.y
    if synth_per_class:
        s = synth_dataset(synth_per_class * len(BYCLASS), split, name="synth62")
        x, y = np.concatenate([x, s.x]), np.concatenate([y, s.y])
    synth = np.arange(len(y)) >= len(y) - (synth_per_class * len(BYCLASS) if synth_per_class else 0)
    marks = punctuation_glyphs(max(synth_per_class, 100),
                               np.random.default_rng([SPLIT_CODES[split], 0x2E]))
    return GlyphPool.build(np.concatenate([x, marks[0]]), np.concatenate([y, marks[1]]),
                           np.concatenate([synth, np.ones(len(marks[1]), bool)]))


# -- texts ---------------------------------------------------------------------------------------
DIGITS = np.arange(10)
UPPER = np.arange(10, 36)
LOWER = np.arange(36, 62)
STYLES = ("upper", "lower", "capitalised", "digits", "any")
STYLE_P = (0.25, 0.3, 0.2, 0.1, 0.15)
OPENING = "(\"<[{#'"                     # marks written before a word ...
CLOSING = ")\">]};,.:!?'"                # ... after one ...
ALONE = "=+-/{}()<>#"                    # ... and as a word of their own
PUNCT_LINES = 0.4                        # share of lines with punctuation


def random_texts(n: int, rng: np.random.Generator, max_chars: int = MAX_CHARS,
                 punctuation: float = PUNCT_LINES) -> np.ndarray:
    """(n, max_chars) line classes (LINE_CLASSES indices; -1 after each line's end): words of
    capitals, of lower case, capitalised words, digit groups or any characters, one style a
    line, single spaces between words, never a space first or last; `punctuation` of the
    lines with punctuation marks at the words' ends (_punctuate)."""
    style = rng.choice(len(STYLES), n, p=STYLE_P)
    longest = np.where(style == 0, 9, np.where(style == 3, 10, max_chars))
    length = np.minimum(1 + (rng.random(n) * longest).astype(np.int64), max_chars)
    length = np.where(rng.random(n) < 0.6, np.maximum(length, longest // 2), length)
    pos = np.arange(max_chars)
    upper = UPPER[rng.integers(0, 26, (n, max_chars))]
    lower = LOWER[rng.integers(0, 26, (n, max_chars))]
    digit = DIGITS[rng.integers(0, 10, (n, max_chars))]
    anything = rng.integers(0, 62, (n, max_chars))
    space = (rng.random((n, max_chars)) < 0.2) & (pos > 0) & (pos < length[:, None] - 1)
    space[:, 1:] &= ~space[:, :-1]                               # no two spaces together
    word_start = np.ones((n, max_chars), bool)
    word_start[:, 1:] = space[:, :-1]
    s = style[:, None]
    chars = np.select([s == 0, s == 1, s == 2, s == 3],
                      [np.where(rng.random((n, max_chars)) < 0.1, digit, upper), lower,
                       np.where(word_start, upper, lower), digit], anything)
    texts = np.where(space, SPACE, chars + FIRST_CHAR)
    texts[pos >= length[:, None]] = -1
    if punctuation:
        _punctuate(texts, rng, punctuation)
    return texts


def _mark(chars: str, rng: np.random.Generator, n: int) -> np.ndarray:
    return FIRST_MARK + np.array([PUNCTUATION.index(c) for c in chars])[
        rng.integers(0, len(chars), n)]


def _punctuate(texts: np.ndarray, rng: np.random.Generator, share: float) -> None:
    """Turn some characters of a `share` of the lines (in place) into punctuation: a word's
    first character into an opening mark (40%), its last into a closing one (50%), a
    one-character word into a mark of its own (60%); so lines keep their length and spaces."""
    n, length = texts.shape
    chosen = (rng.random(n) < share)[:, None]
    body = texts >= FIRST_CHAR
    before = np.pad(texts, ((0, 0), (1, 0)), constant_values=SPACE)[:, :-1]
    after = np.pad(texts, ((0, 0), (0, 1)), constant_values=-1)[:, 1:]
    first, last = body & (before == SPACE), body & ((after == SPACE) | (after < 0))
    u = rng.random((n, length))
    alone = chosen & first & last & (u < 0.6)
    opening = chosen & first & ~last & (u < 0.4)
    closing = chosen & last & ~first & (rng.random((n, length)) < 0.5)
    for where, marks in ((alone, ALONE), (opening, OPENING), (closing, CLOSING)):
        texts[where] = _mark(marks, rng, int(where.sum()))


def text_of(classes) -> str:
    """The string of a row of line classes (-1 padding and blanks dropped)."""
    return "".join(LINE_CLASSES[k] for k in np.asarray(classes) if k > 0)


# -- composing -----------------------------------------------------------------------------------
@dataclass
class LineComposer:
    """Draws lines of given texts with characters from `pool`: (N, L) line classes ->
    (N, HEIGHT, width) float32. Callable as the Trainer's `augment` (it takes the texts as
    floats, as the Trainer holds its inputs)."""

    pool: GlyphPool
    width: int = WIDTH
    synth_share: float = SYNTH_SHARE
    letter_gap: tuple = (-0.1, 0.45)      # gap between letters, in capital heights
    touching: float = 0.25                # share of lines written with touching letters
    word_gap: tuple = (0.4, 1.4)
    slant: tuple = (0.05, 0.15)           # mean and spread of x shift per unit of height
    aspect: tuple = (0.8, 1.2)
    margin: tuple = (0.5, 3.0)            # pixels above and below the ink
    underline: float = 0.08               # share of lines with a word underlined
    printed: float = 0.0                  # share of lines set in a font (printed_lines)

    def __call__(self, texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self.printed:
            return self.finish(self.compose(texts, rng)[0], rng)
        # a share of the lines set in a font; only the others are drawn by hand
        typeset = rng.random(len(texts)) < self.printed
        lines = np.empty((len(texts), HEIGHT, self.width), np.float32)
        if not typeset.all():
            lines[~typeset] = self.compose(texts[~typeset], rng)[0]
        if typeset.any():
            lines[typeset] = printed_lines(np.rint(texts[typeset]).astype(np.int64), rng,
                                           self.width)
        return self.finish(lines, rng)

    def compose(self, texts: np.ndarray, rng: np.random.Generator):
        """The bare lines (N, HEIGHT, width) and where each character went: (where (K, 2) the
        line and text position of each character drawn, boxes (K, 4) x0, y0, x1, y1 of its
        slanted box in line pixels)."""
        from ocrkit.data.augment import bilinear
        texts = np.rint(np.asarray(texts)).astype(np.int64)
        n, length = texts.shape
        line, slot = np.nonzero(texts >= FIRST_CHAR)
        cls = texts[line, slot] - FIRST_CHAR
        k = len(line)
        glyph = self.pool.pick(cls, rng, self.synth_share)
        r0, r1, c0, c1 = self.pool.boxes[glyph].T.astype(np.float64)

        # in capital heights (cap top 0, baseline 1, x to the right): each character's box
        size = rng.uniform(0.94, 1.06, k)
        top = FRAME[cls, 0] + rng.normal(0, 0.025, k)
        bottom = FRAME[cls, 1] + rng.normal(0, 0.025, k)
        mid = 0.5 * (top + bottom)
        lift = rng.normal(0, 0.02, n)[line] + rng.normal(0, 0.02, k)       # baseline wobble
        top, bottom = mid + (top - mid) * size + lift, mid + (bottom - mid) * size + lift
        aspect = rng.uniform(*self.aspect, n)[line] * rng.uniform(0.93, 1.07, k)
        char_w = (c1 - c0) / (r1 - r0) * (bottom - top) * aspect
        touch = rng.random(n) < self.touching
        gap_line = np.where(touch, rng.uniform(-0.14, 0.0, n), rng.uniform(*self.letter_gap, n))
        gap = (gap_line[line] + rng.normal(0, 0.04, k)) * np.where(cls >= LOWER[0], 0.6, 1.0)
        advance = np.zeros((n, length))
        advance[line, slot] = char_w + gap
        spaces = texts == SPACE
        advance[spaces] = (rng.uniform(*self.word_gap, n)[:, None]
                           * rng.uniform(0.8, 1.2, (n, length)))[spaces]
        x0 = (np.cumsum(advance, 1) - advance)[line, slot]
        x1 = x0 + char_w
        # slant: a point at height y moves right by shear * (1 - y) (the baseline stays)
        shear = rng.normal(*self.slant, n)
        sl = shear[line]
        lean_top, lean_bottom = sl * (1 - top), sl * (1 - bottom)
        left_edge = x0 + np.minimum(lean_top, lean_bottom)
        right_edge = x1 + np.maximum(lean_top, lean_bottom)

        def per_line(values, reduce, empty):
            out = np.full(n, empty)
            reduce.at(out, line, values)
            return np.where(np.isfinite(out), out, 0.0)

        hi, lo = per_line(top, np.minimum, np.inf), per_line(bottom, np.maximum, -np.inf)
        lo = np.maximum(lo, hi + 0.1)
        x_lo = per_line(left_edge, np.minimum, np.inf)
        x_hi = per_line(right_edge, np.maximum, -np.inf)
        # to pixels: the ink fills the height less the margins, unless the line is too long
        m_top, m_bottom = rng.uniform(*self.margin, n), rng.uniform(*self.margin, n)
        px = (HEIGHT - m_top - m_bottom) / (lo - hi)
        left = rng.uniform(0.5, 4.0, n)
        shrink = np.minimum(1.0, (self.width - left - 1) / np.maximum((x_hi - x_lo) * px, 1e-6))
        px *= shrink
        y_off = np.where(shrink < 1, (HEIGHT - (lo - hi) * px) / 2, m_top)

        def to_x(x):
            return left[line] + (x - x_lo[line]) * px[line]

        def to_y(y):
            return y_off[line] + (y - hi[line]) * px[line]

        gx0, gx1, gy0, gy1 = to_x(x0), to_x(x1), to_y(top), to_y(bottom)
        base = to_y(np.ones(k))
        boxes = np.stack([to_x(left_edge), gy0, to_x(right_edge), gy1], 1)

        # every character at once: each line pixel (r, c) of its patch, slant undone, mapped
        # into the character's own 32x32 image
        c_first = np.floor(boxes[:, 0]).astype(np.int64) - 1
        pw = int(np.ceil((boxes[:, 2] - boxes[:, 0]).max(initial=1.0))) + 3
        rows = np.arange(HEIGHT)[None, :, None] + 0.5
        cols = (c_first[:, None] + np.arange(pw))[:, None, :] + 0.5
        upright = cols - sl[:, None, None] * (base[:, None, None] - rows)
        u = (upright - gx0[:, None, None]) / (gx1 - gx0)[:, None, None]
        v = (rows - gy0[:, None, None]) / (gy1 - gy0)[:, None, None]
        src_c = c0[:, None, None] + u * (c1 - c0)[:, None, None] - 0.5
        src_r = np.broadcast_to(r0[:, None, None] + v * (r1 - r0)[:, None, None] - 0.5,
                                src_c.shape)
        glyphs = self.pool.images[glyph].astype(np.float32) * np.float32(1 / 255)
        patch = bilinear(glyphs, src_r.reshape(k, -1).astype(np.float32),
                         src_c.reshape(k, -1).astype(np.float32)).reshape(k, HEIGHT, pw)
        c_abs = c_first[:, None] + np.arange(pw)                          # (K, pw)
        inside = (c_abs >= 0) & (c_abs < self.width)
        flat = (line[:, None, None] * HEIGHT + np.arange(HEIGHT)[:, None]) * self.width \
            + np.clip(c_abs, 0, self.width - 1)[:, None, :]
        canvas = np.bincount(flat.ravel(), (patch * inside[:, None, :]).ravel(),
                             minlength=n * HEIGHT * self.width)
        out = np.minimum(canvas, 1.0).astype(np.float32).reshape(n, HEIGHT, self.width)
        # a share of lines underlined under part of their width, just below the baseline
        under = np.flatnonzero(rng.random(n) < self.underline)
        if len(under):
            y = np.rint(y_off + (1 - hi) * px + rng.uniform(1, 3, n)).astype(np.int64)[under]
            ink_w = (x_hi - x_lo)[under] * px[under]
            a = left[under] + rng.uniform(0, 0.5, len(under)) * ink_w
            b = left[under] + rng.uniform(0.5, 1.0, len(under)) * ink_w
            stroke = ((np.arange(self.width) >= a[:, None]) & (np.arange(self.width) < b[:, None]))
            for dy in (0, 1):
                r = np.clip(y + dy, 0, HEIGHT - 1)
                out[under, r] = np.maximum(out[under, r], stroke)
        return out, (np.stack([line, slot], 1), boxes)

    def finish(self, lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per line, a pen: thin (a high threshold on the characters' soft edges), normal,
        or bold (a gain, and one grey dilation); then a share blurred, a share with pixel
        noise or specks; the peak ink is 1."""
        from scipy import ndimage
        n = len(lines)
        pen = rng.choice(3, n, p=(0.4, 0.45, 0.15))                     # thin, normal, bold
        cut = np.select([pen == 0, pen == 1], [rng.uniform(0.35, 0.65, n),
                                               rng.uniform(0.0, 0.3, n)], 0.0)
        gain = np.select([pen == 0, pen == 1], [np.full(n, 1.5), rng.uniform(1.0, 1.5, n)],
                         rng.uniform(1.2, 2.0, n))
        cut, gain = (v.astype(np.float32)[:, None, None] for v in (cut, gain))
        x = np.clip((lines - cut) * gain / (1 - cut), 0, 1)
        bold = np.flatnonzero(pen == 2)
        if len(bold):
            x[bold] = ndimage.grey_dilation(x[bold], footprint=np.array(
                [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], bool))
        blur = np.flatnonzero(rng.random(n) < 0.25)
        if len(blur):
            x[blur] = ndimage.gaussian_filter(x[blur], (0, 0.7, 0.7))
        noisy = np.flatnonzero(rng.random(n) < 0.3)
        if len(noisy):
            std = rng.uniform(0.02, 0.1, len(noisy)).astype(np.float32)[:, None, None]
            x[noisy] += rng.normal(0, 1, x[noisy].shape).astype(np.float32) * std
        specks = np.flatnonzero(rng.random(n) < 0.15)
        if len(specks):
            dots = rng.random(x[specks].shape) < 0.003
            x[specks] = np.maximum(x[specks], ndimage.maximum_filter(dots, (1, 2, 2)))
        x = np.clip(x, 0, 1)
        peak = x.reshape(n, -1).max(1)
        return (x / np.maximum(peak, 1e-6)[:, None, None]).astype(np.float32)


# -- printed lines -------------------------------------------------------------------------------
#: the fonts printed lines are set in: matplotlib's own (it ships them, so every install of
#: ocrkit has them): sans, serif and monospace, upright, bold and slanted
FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSerif",
         "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSansMono", "DejaVuSansMono-Bold",
         "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic")
FONT_PX = 40                               # size the text is set at before it is fitted


@lru_cache(maxsize=None)
def _font(name: str):
    import os

    import matplotlib
    from PIL import ImageFont
    return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf",
                                           name + ".ttf"), FONT_PX)


def printed_lines(texts: np.ndarray, rng: np.random.Generator, width: int = WIDTH) -> np.ndarray:
    """(N, L) line classes -> (N, HEIGHT, width) float32 lines of the same texts set in one of
    FONTS each (the labels and prompts of a form, a printed heading), fitted as the composer
    fits a hand's line: the ink spans the height less a margin of 0.5-3 px, shrunk whole if
    too long. One PIL text call a line (a font has no batched form); ink 1 on 0."""
    from PIL import Image, ImageDraw
    out = np.zeros((len(texts), HEIGHT, width), np.float32)
    fonts = rng.integers(0, len(FONTS), len(texts))
    margins = rng.uniform(0.5, 3.0, (len(texts), 2))
    lefts = rng.uniform(0.5, 4.0, len(texts))
    stretch = rng.uniform(0.9, 1.15, len(texts))
    for n, (row, f) in enumerate(zip(texts, fonts)):
        text = text_of(row)
        if not text.strip():
            continue
        font = _font(FONTS[f])
        x0, y0, x1, y1 = font.getbbox(text)
        canvas = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4))
        ImageDraw.Draw(canvas).text((2 - x0, 2 - y0), text, fill=255, font=font)
        ink = np.asarray(canvas)
        rows, cols = np.flatnonzero(ink.max(1) > 127), np.flatnonzero(ink.max(0) > 127)
        if not len(rows):
            continue
        ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        tall = HEIGHT - margins[n].sum()
        scale = min(tall / ink.shape[0], (width - lefts[n] - 1) / (ink.shape[1] * stretch[n]))
        h = max(1, int(round(ink.shape[0] * scale)))
        w = max(1, min(width - int(lefts[n]), int(round(ink.shape[1] * scale * stretch[n]))))
        small = np.asarray(Image.fromarray(ink).resize((w, h), Image.BILINEAR), np.float32) / 255
        top = int(round(margins[n, 0] if scale * ink.shape[0] >= tall - 0.5 else (HEIGHT - h) / 2))
        top = min(max(top, 0), HEIGHT - h)
        out[n, top:top + h, int(lefts[n]):int(lefts[n]) + w] = small
    return out
