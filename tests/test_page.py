"""The page pipeline's stages (ocrkit/page/), each on small synthetic inputs (a few on real
photos from ../shared/data/pages): every test shows a stage doing its job, most by switching
it off and watching the page read worse."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from conftest import data_file
from ocrkit import modelfile
from ocrkit.data.pages import render_page
from ocrkit.errors import OcrkitError
from ocrkit.metrics import error_rates
from ocrkit.page import clean as clean_stage
from ocrkit.page import cuts
from ocrkit.page.clean import clean
from skimage.filters import threshold_otsu
from ocrkit.page.image import MAX_PIXELS, as_page_array, load_page
from ocrkit.page.read import read_page
from ocrkit.page.segment import group_lines, segment


@pytest.fixture(scope="module")
def model():
    return modelfile.load(modelfile.default_model_path())


def cer(page, truth) -> float:
    return error_rates(page.text, truth)["cer"]


def grey_page(text, seed=1, **kw):
    image, lines = render_page(text, seed=seed, colour=False, jpeg_quality=None, **kw)
    return image, lines


def truth_of(lines) -> str:
    return "\n".join(line["text"] for line in lines)


# -- image ------------------------------------------------------------------------------------
def test_page_arrays_are_validated_and_converted():
    assert as_page_array(np.zeros((10, 12), bool)).dtype == np.uint8
    assert as_page_array(np.full((9, 9, 4), 0.5, np.float32)).shape == (9, 9, 3)
    assert as_page_array(np.full((9, 9), 65535, np.uint16)).max() == 255
    for bad in (np.zeros(5), np.zeros((4, 4, 7)), np.full((9, 9), np.nan), np.zeros((0, 5))):
        with pytest.raises(ValueError):
            as_page_array(bad)


def test_pixel_count_is_checked_from_the_header_before_decoding(tmp_path):
    side = int(np.sqrt(MAX_PIXELS)) + 100
    Image.new("L", (side, side), 255).save(tmp_path / "big.png")     # small file, huge image
    with pytest.raises(OcrkitError, match="too large"):
        load_page(tmp_path / "big.png")


# -- clean ------------------------------------------------------------------------------------
def ruled(image: np.ndarray, lines: list, level: int = 120, every: float = 1.0) -> np.ndarray:
    """The page with grey rules drawn across it at each line's baseline, and between lines."""
    out = image.copy()
    bottoms = [line["box"][3] for line in lines]
    gap = np.median(np.diff(bottoms)) if len(bottoms) > 1 else 80
    y = bottoms[0] - 2
    while y < out.shape[0]:
        out[int(y):int(y) + 2, :] = np.minimum(out[int(y):int(y) + 2, :], level)
        y += gap * every
    y = bottoms[0] - 2 - gap
    while y > 0:
        out[int(y):int(y) + 2, :] = np.minimum(out[int(y):int(y) + 2, :], level)
        y -= gap
    return out


def test_a_line_cropped_close_keeps_the_letters_that_touch_the_frame(model):
    # a real photo cropped to one lower-case line (x-height 40 px in a 74 px strip): the f
    # and the b reach its top edge, the y its bottom, the f its left edge and the y its right.
    # What touches the frame is dropped only when far larger than a character, and an
    # ascender, a descender or two joined letters are not
    from ocrkit.lines import load_line_model
    path = data_file("pages/nick_fears.png")
    image, _ = load_page(path)
    kept = clean_stage.clean(image).mask
    cols = np.flatnonzero(kept.any(0))
    assert cols[0] <= 2 and cols[-1] >= kept.shape[1] - 3          # the f and the y
    truth = path.with_name("nick_fears.gt.txt").read_text()
    assert cer(read_page(image, model, line_model=load_line_model()), truth) < 0.1


def test_rule_removal_reads_a_ruled_page(model):
    image, lines = grey_page("HELLO WORLD\nLINES ON PAPER\nREAD 42 WORDS", seed=4)
    page = ruled(image, lines)
    truth = truth_of(lines)
    with_rules = cer(read_page(page, model), truth)
    without = cer(read_page(page, model, rules=False), truth)
    assert with_rules <= 0.1 and without >= with_rules + 0.15, (with_rules, without)


def test_rules_go_but_the_strokes_crossing_them_stay():
    mask = np.zeros((200, 400), bool)
    mask[100:102, :] = True                       # a rule across the page
    mask[60:140, 50:54] = True                    # a stroke crossing it
    mask[60:62, 150:350] = False
    out, removed = clean_stage.remove_lines(mask, height=40.0, stroke=4.0)
    assert removed["rules"] > 300
    assert out[60:140, 50:54].all()               # the crossing stroke is whole
    assert not out[100:102, 100:400].any()        # the rule is gone


def test_the_surroundings_of_the_sheet_are_not_text(model):
    image, lines = grey_page("CALL ME AT 5\nBRING THE MAP", seed=2)
    rng = np.random.default_rng(0)
    h, w = image.shape
    table = np.zeros((h + 400, w + 400), np.uint8)                  # a dark, grainy table
    table[:] = (60 + 50 * rng.random(table.shape)).astype(np.uint8)
    table[::7] = 30
    table[200:200 + h, 200:200 + w] = image
    truth = truth_of(lines)
    kept = cer(read_page(table, model), truth)
    raw = cer(read_page(table, model, clutter=False), truth)
    assert kept <= 0.1 and raw >= kept + 0.2, (kept, raw)


def test_a_dark_table_is_off_the_sheet_whatever_its_texture(model, line_model, monkeypatch):
    # synth pages of a card on a table (clutter=True): a table less than half as bright as
    # the paper is not the sheet even where it is smooth; else the band of "ink" along the
    # card's edges is read as lines of I, 1 and L (the junk-line rule, which also catches
    # some of them, is off here: this is the clean stage's test)
    from ocrkit.page import read
    monkeypatch.setattr(read, "JUNK_LINE", 2.0)
    for seed, text in ((0, "HELLO WORLD\nTHE QUICK FOX"), (8, "HELLO WORLD\nTHE QUICK FOX"),
                       (1, "the quick brown fox\njumps over the lazy dog")):
        image, _ = render_page(text, seed=seed, colour=True, clutter=True, case="mixed")
        kept = read_page(image, model, line_model=line_model)
        with monkeypatch.context() as m:
            m.setattr(clean_stage, "OFF_DARK", 0.0)
            table = read_page(image, model, line_model=line_model)
        # without the rule, a line of junk (or more) along the card's edge: seed 0 at 28% with
        # the committee, the others over 100%
        assert cer(kept, text) < 0.05 and cer(table, text) > 0.2, (kept.text, table.text)
        assert len(table.lines) > len(kept.lines) == text.count("\n") + 1


def test_a_lighter_strip_of_the_table_between_its_dark_parts_is_off_the_sheet(monkeypatch):
    # a card on a wooden table: above the card a lighter plank between darker ones, its grain
    # thresholded as ink; it is not the sheet, though brighter than the table's Otsu level
    rng = np.random.default_rng(0)
    grey = (0.3 + rng.normal(0, 0.08, (576, 1024))).astype(np.float32)     # dark, grainy
    grey[:, ::5] -= 0.15
    grey[80:540, 20:1000] = 0.82 + rng.normal(0, 0.01, (460, 980))         # the card
    grey[:80, 440:590] = 0.7 + rng.normal(0, 0.05, (80, 150))               # the plank
    grey[:80, 440:590:4] -= 0.25
    grey = np.clip(grey, 0, 1).astype(np.float32)
    mask = clean_stage.threshold(clean_stage.flatten(grey, 1024 / 40))
    assert mask[:80, 440:590].mean() > 0.3                                  # "ink" there
    off = clean_stage.off_sheet(grey, mask)
    assert off[:70, 450:580].all() and off[:70, :400].all()
    assert not off[100:520, 40:980].any()                                   # never the card
    monkeypatch.setattr(clean_stage, "OFF_GAP", 0.0)
    assert clean_stage.off_sheet(grey, mask)[:70, 450:580].mean() < 0.2


def test_the_ink_level_is_measured_on_the_sheet_not_on_the_table():
    # an ink map with a third of table (texture 0.1-0.6 "ink") beside a sheet of paper grain
    # (mostly near 0, a long tail) and pen strokes (0.8): the table's middling values pull
    # Otsu's level over the whole map down into the grain's tail, and its specks become ink;
    # the sheet's own level, higher, splits the paper from the strokes (sampath_best_of_times
    # turned 4 degrees: more of the table in view)
    rng = np.random.default_rng(0)
    ink = np.minimum(rng.exponential(0.06, (300, 600)), 1.0).astype(np.float32)
    ink[:, :200] = rng.uniform(0.1, 0.6, (300, 200))
    strokes = np.zeros(ink.shape, bool)
    strokes[60:260:4, 250:550] = True
    ink[strokes] = 0.8
    sheet = np.zeros(ink.shape, bool)
    sheet[:, 200:] = True
    grain = sheet & ~strokes
    on_sheet = clean_stage.threshold(ink, sheet)
    assert on_sheet[strokes].all()
    assert clean_stage.threshold(ink)[grain].mean() > 2 * on_sheet[grain].mean()
    # ... but where a dark background raises the whole map's level above the sheet's (a
    # faint pen, few strokes: the sheet's own Otsu splits its grain), the higher one stays
    # (kj_khushboo: its vignetted corner would join the K to the clutter)
    ink[:, :200] = 0.9
    ink[strokes] = 0.0
    ink[100:200:20, 250:550] = 0.8
    assert float(threshold_otsu(ink[sheet])) < float(threshold_otsu(ink))
    assert np.array_equal(clean_stage.threshold(ink, sheet), clean_stage.threshold(ink))


def test_a_strip_of_table_too_thin_for_the_block_means_is_off_the_sheet(monkeypatch):
    # a card filling the photo but for the table's last centimetre above it (sf_code_c): the
    # strip's grain is "ink" in every row, but block means 34 px across never see it as dark;
    # without the band rule its pieces were read as a line "j II XII". The writing stays.
    from ocrkit.page.image import load_page
    image, _ = load_page(data_file("pages/sf_code_c.jpg"))
    look = clean_stage.LOOK_SIDE / max(image.shape[:2])
    grey = clean_stage.to_float(clean_stage.page_grey(clean_stage.resample(image, look), "max"))
    mask = clean_stage.threshold(clean_stage.flatten(grey, max(grey.shape) / 40))
    assert grey.shape == (576, 1024) and mask[:8, :700].mean() > 0.4     # the strip's "ink"
    off = clean_stage.off_sheet(grey, mask)
    assert off[:8, :700].mean() > 0.95 and off[:, 850:].mean() > 0.95
    assert not off[60:480, 30:700].any()                                 # the card
    assert mask[60:480, 30:700].sum() > 5000                             # ... holds writing
    monkeypatch.setattr(clean_stage, "BAND_INK", 1.0)
    assert clean_stage.off_sheet(grey, mask)[:8, :700].mean() < 0.2


def test_a_skewed_page_is_turned_level_and_its_boxes_are_in_the_photos_pixels(model):
    image, lines = grey_page("LEVEL LINES ARE READ\nTURN THE PAGE BACK\nONE TWO THREE FOUR",
                             seed=5, char_height=50)
    pil = Image.fromarray(image)
    turned = np.asarray(pil.rotate(6, resample=Image.BILINEAR, expand=False, fillcolor=235))
    truth = truth_of(lines)
    page = read_page(turned, model)
    assert cer(page, truth) <= 0.1, page.text
    assert cer(read_page(turned, model, deskew=False), truth) >= cer(page, truth) + 0.15
    step = next(s for s in page.steps if s.id == "clean")
    assert 5.0 <= step.settings["deskew_degrees"] <= 7.5
    # each character's box holds the ink of that character in the turned photo
    ink = turned < 128
    for c in page.chars:
        x0, y0, x1, y1 = c.box
        assert ink[y0:y1, x0:x1].mean() > 0.05


def test_writing_across_the_rules_is_turned_level_on_its_own(monkeypatch):
    # kj_raghav_caps photographed 4 degrees further round: the rules are found and levelled,
    # but the writing rises across them by about 2 degrees more, enough to mix its lines
    from ocrkit import Reader
    with Image.open(data_file("pages/kj_raghav_caps.jpeg")) as photo:
        image = np.asarray(ImageOps.exif_transpose(photo).convert("RGB"))
    truth = data_file("pages/kj_raghav_caps.gt.txt").read_text()
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    turned = np.asarray(Image.fromarray(image).rotate(
        4, Image.BICUBIC, expand=True, fillcolor=tuple(int(v) for v in np.median(border, 0))))
    reader = Reader()
    levelled, page = clean(turned), reader.read(turned)
    monkeypatch.setattr(clean_stage, "RULED", 99.0)          # only the rules' angle
    rules_only, page_rules_only = clean(turned), reader.read(turned)
    assert levelled.angle >= rules_only.angle + 1.0
    assert cer(page, truth) < cer(page_rules_only, truth) - 0.05
    # turned twice, the boxes still map back onto the photo's ink (dark blue on blue paper)
    grey = turned.max(axis=2)
    ink = grey < np.percentile(grey, 20)
    assert np.mean([ink[y0:y1, x0:x1].mean() > 0.05 for x0, y0, x1, y1
                    in (c.box for c in page.chars)]) > 0.9


def test_big_letters_in_a_thin_pen_keep_their_rules_found(monkeypatch):
    # kj_khushboo_touching at its full 13 MP: a name four rules tall in a thin pen, so the
    # strips the rules are looked for in were half the page wide, the faint rules drifted
    # off their rows across them and stayed, joining the letters (with the single default
    # model of the last round that read HUSH8D; the committee reads through what is left,
    # so the rules removed are counted, and the page must read right)
    from ocrkit import Reader
    with Image.open(data_file("pages/kj_khushboo_touching.jpeg")) as photo:
        image = np.asarray(ImageOps.exif_transpose(photo).convert("RGB"))
    truth = data_file("pages/kj_khushboo_touching.gt.txt").read_text()
    assert cer(Reader().read(image), truth) <= 0.125
    found = clean(image).removed["rules"]
    monkeypatch.setattr(clean_stage, "STRIP_STROKES", 1e9)
    assert found > 1.15 * clean(image).removed["rules"]


def test_working_resolution_follows_the_writing():
    small, _ = grey_page("SMALL", seed=1, char_height=40)
    big = np.asarray(Image.fromarray(small).resize((small.shape[1] * 4, small.shape[0] * 4)))
    a, b = clean(small), clean(big)
    assert abs(a.height - b.height) <= 0.25 * a.height        # same characters at work
    assert b.scale < 0.5 * a.scale


def test_small_writing_is_enlarged_and_reads_better(model, monkeypatch):
    # a webcam's or thumbnail's page: characters about 15 pixels tall are enlarged to
    # ENLARGED before cleaning; left at their own size they read worse
    text = "SMALL WRITING IS READ\nFROM A WEBCAM PHOTO\nSEVEN EIGHT NINE TEN"
    pages = []
    for seed in (1, 3):
        image, lines = grey_page(text, seed=seed, char_height=40)
        small = np.asarray(Image.fromarray(image).resize(
            (image.shape[1] // 3, image.shape[0] // 3), Image.LANCZOS))
        pages.append((small, truth_of(lines)))
    cleaned = clean(pages[0][0])
    assert cleaned.scale > 1.5 and abs(cleaned.height - clean_stage.ENLARGED) <= 3
    enlarged = sum(cer(read_page(small, model), truth) for small, truth in pages)
    monkeypatch.setattr(clean_stage, "SMALL_HEIGHT", 0.0)
    assert clean(pages[0][0]).scale == 1.0
    as_it_is = sum(cer(read_page(small, model), truth) for small, truth in pages)
    assert enlarged < as_it_is - 0.05


def test_a_coloured_table_is_off_the_sheet_by_its_hue(monkeypatch):
    # white paper on a smooth orange table (sampath_best_of_times): not dark enough for
    # OFF_DARK nor textured, but of another hue; a grey shadow of the same darkness is not
    # off the sheet
    rng = np.random.default_rng(0)
    rgb = np.empty((576, 1024, 3), np.uint8)
    rgb[:] = (170, 95, 40)                                             # the table
    rgb[120:, 60:] = (225, 228, 232)                                   # the sheet
    rgb = np.clip(rgb + rng.normal(0, 3, rgb.shape), 0, 255).astype(np.uint8)
    grey = clean_stage.to_float(clean_stage.page_grey(rgb, "max"))
    mask = clean_stage.threshold(clean_stage.flatten(grey, 1024 / 40))
    off = clean_stage.off_sheet(grey, mask, rgb)
    assert off[:90, :].mean() > 0.95 and off[:, :40].mean() > 0.95
    assert not off[160:, 100:].any()                                   # never the sheet
    shadow = np.repeat(rgb.max(2, keepdims=True), 3, axis=2)          # the same, in grey
    assert clean_stage.off_sheet(grey, mask, shadow)[:90].mean() < 0.05
    assert clean_stage.off_sheet(grey, mask)[:90].mean() < 0.05


# -- segment and cuts -------------------------------------------------------------------------
def test_evenly_spaced_characters_are_a_row_of_boxes():
    from ocrkit.page.segment import even_pitch
    boxes = np.array([0, 75, 151, 226, 300, 376, 451], float)      # one character to a box
    assert even_pitch(boxes).all()
    words = np.array([0, 60, 118, 180, 300, 362, 421, 480], float)  # a space after the 4th
    assert not even_pitch(words).any()                              # 4 + 4: no run of 5
    longer = np.array([0, 60, 118, 180, 240, 360, 421, 480, 541, 600], float)
    assert even_pitch(longer).tolist() == [True] * 4 + [False] + [True] * 4
    assert not even_pitch(np.array([0, 50, 100, 150], float)).any()    # too few


def test_a_word_spaced_out_letter_by_letter_is_one_word():
    # G U S TA V: one letter to a box, the pitch uneven (TA close), so even_pitch keeps the
    # spaces; three one-letter words in a row are one word spaced out
    from ocrkit.page.read import _words
    uneven = np.array([0, 50, 94, 144, 176, 226], float)
    assert _words([True, True, True, False, True], uneven) == [[0, 1, 2, 3, 4, 5]]
    # ... but English text keeps its short words: "I am a man" (two one-letter words), and a
    # long word ends a run (A B MAHLER C D: two and two)
    text = np.array([0, 40, 65, 90, 130, 150, 175], float)
    assert _words([True, False, True, True, False, False], text) == \
        [[0], [1, 2], [3], [4, 5, 6]]
    assert _words([True, True, False, False, False, False, True, True, True],
                  np.array([0, 45, 90, 110, 130, 150, 170, 190, 240, 290], float)) == \
        [[0], [1], [2, 3, 4, 5, 6, 7], [8], [9]]


def test_a_forms_row_of_boxes_reads_as_one_field(monkeypatch):
    # markus_form_boxes: the student number, one digit to a box; the digits' widths differ
    # (a 1 is narrow), so their gaps looked like spaces: "000 L 2509 8 1"
    from ocrkit import Reader
    from ocrkit.page import segment as segment_stage
    path = data_file("pages/markus_form_boxes.jpg")
    reader = Reader()
    number = reader.read(path).text.splitlines()[-1].split()[-1]
    assert len(number) == 10 and sum(c.isdigit() for c in number) >= 8
    # the boxes' even pitch keeps it whole, and so do the spaces decided phrase by phrase
    # (the row's gaps apart from the printed label's): either alone suffices
    monkeypatch.setattr(segment_stage, "PITCH_RUN", 99)
    assert len(reader.read(path).text.splitlines()[-1].split()[-1]) == 10
    plain = segment_stage.word_spaces
    monkeypatch.setattr(segment_stage, "word_spaces", lambda gaps, phrases=False: plain(gaps))
    assert len(reader.read(path).text.splitlines()[-1].split()[-1]) < 10
    monkeypatch.setattr(segment_stage, "PITCH_RUN", 5)
    assert len(reader.read(path).text.splitlines()[-1].split()[-1]) == 10


def test_lines_group_by_band_not_by_centre():
    # a line of small letters with one ascender and one descender, a second line below
    boxes = np.array([(0, 20, 10, 40), (12, 5, 22, 40), (24, 20, 34, 55), (36, 20, 46, 40),
                      (0, 90, 10, 110), (12, 92, 22, 112)])
    lines = group_lines(boxes)
    assert [list(map(int, line)) for line in lines] == [[0, 1, 2, 3], [4, 5]]


def test_touching_letters_are_cut_only_by_recognition(model):
    image, lines = grey_page("HEAL THE WORLD", seed=7, char_height=60)
    # make neighbours touch: join each letter to the next by a bar at mid height
    img = image.copy()
    for line in lines:
        for word in line["words"]:
            chars = word["chars"]
            for a, b in zip(chars[:-1], chars[1:]):
                y = (a["box"][1] + a["box"][3]) // 2
                img[y - 2:y + 2, a["box"][2] - 2:b["box"][0] + 2] = 30
    truth = truth_of(lines)
    with_cuts = cer(read_page(img, model), truth)
    without = cer(read_page(img, model, cut=False), truth)
    assert without >= with_cuts + 0.2, (with_cuts, without)


def test_touching_capitals_are_cut_not_dropped(monkeypatch):
    # kj_raghav_caps: the G and H of RAGHAV touch; the reject class calls the pair "not one
    # character", and when dropping it cost no more than a speck the word came out "RA AV"
    from ocrkit import Reader
    path = data_file("pages/kj_raghav_caps.jpeg")
    reader = Reader()
    assert "RAGHAV" in reader.read(path).text
    monkeypatch.setattr(cuts, "SKIP_WIDTH", 1e9)                 # every skip costs the same
    assert "RAGHAV" not in reader.read(path).text


def test_a_comma_among_capitals_ends_its_word_and_is_not_read(monkeypatch):
    # kj_raghav_caps begins "HI, MY NAME": the comma, low and short on the line of capitals,
    # was read as 9 and joined the two words ("HI9MY")
    from ocrkit import Reader
    from ocrkit.page import case
    path = data_file("pages/kj_raghav_caps.jpeg")
    reader = Reader()
    first = reader.read(path).text.splitlines()[0]
    assert first.startswith("HI MY NAME"), first
    monkeypatch.setattr(case, "MARK_TOP", 0.0)                   # no character is a mark
    assert not reader.read(path).text.startswith("HI MY")


def test_a_bar_among_small_letters_is_l_though_big_twins_read_as_capitals():
    # sf_code_java's "class" with a big c and s: the lexicon gave "class", the twins' size
    # made C S S capitals, and the bar among them became I ("CIaSS"): the letters whose shape
    # shows their case decide (here a), not the twins and not a word's first capital
    from ocrkit.page.case import settle_case
    tall, small = (0, 40), (15, 40)
    def boxes(spans):
        return np.array([[10 * i, y0, 10 * i + 8, y1] for i, (y0, y1) in enumerate(spans)])
    line = ["c", "I", "a", "s", "s", "H", "e", "l", "l", "o", "H", "I", "L", "L"]
    spans = [tall, tall, small, tall, tall, tall, small, tall, tall, small, tall, tall, tall, tall]
    words = [0] * 5 + [1] * 5 + [2] * 4
    got = settle_case(line, boxes(spans), "mixed", words)
    assert "".join(got) == "Class" + "Hello" + "HILL"      # (S S: no_rise, the next test)


def test_the_lexicon_tells_i_from_l_where_only_one_makes_a_word():
    # sampath "It was the best of times": the bar before a small t became l ("lt", a rare
    # lexicon word); with the lexicon it is the far commoner "It"; mid-word a bar is i in
    # "time" (no "tlme"), l in "class"
    from ocrkit.page.case import settle_case
    from ocrkit.page.lexicon import load
    line = list("It") + list("tIme") + list("cIass")
    words = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    boxes = np.array([[10 * i, 0 if c in "ItlI" else 15, 10 * i + 8, 40]
                      for i, c in enumerate(line)])
    assert "".join(settle_case(line, boxes, "mixed", words)) == "lt" "tlme" "class"
    assert "".join(settle_case(line, boxes, "mixed", words, load())) == "It" "time" "class"


def test_a_page_is_in_capitals_unless_a_real_share_of_its_sure_letters_is_small():
    from ocrkit.page.case import page_case
    # block capitals the line model read with a few small letters (a, e, g, n: a capital
    # misread as its small form), as on a ruled page of capitals: 4 of 21 sure letters
    caps = list("HMNAMERAGHVBNSLTHETEST") + list("agen")
    assert page_case(caps, [0.9] * len(caps)) == "upper"
    # a form's printed labels in mixed case beside its capitals: half small
    form = list("FirstName") + list("LastName") + list("GUSTAVMAHLER")
    assert page_case(form, [0.9] * len(form)) == "mixed"
    # unsure small letters do not count
    assert page_case(caps + list("aenr"), [0.9] * len(caps) + [0.3] * 4) == "upper"


def test_case_does_not_rise_inside_a_word_of_mixed_case():
    # bert_alphabet_clean "heLLo deep Learning / WeLcome": l written with a foot reads as L;
    # sf_code_java "SYstem", "PUblic"; nick_verify "VeriFy"
    from ocrkit.page.case import no_rise, settle_case
    words = ["heLLo", "WeLcome", "SYstem", "VeriFy", "OCR", "It", "Is", "ID", "tIme"]
    labels = [c for w in words for c in w]
    number = [n for n, w in enumerate(words) for _ in w]
    got = "".join(no_rise(labels, number))
    assert got == "hello" "Welcome" "System" "Verify" "OCR" "It" "Is" "ID" "tIme"
    line = list("heLLo")
    boxes = np.array([[10 * i, 0 if c in "hLL" else 15, 10 * i + 8, 40]
                      for i, c in enumerate(line)])
    assert "".join(settle_case(line, boxes, "mixed")) == "hello"
    assert "".join(settle_case(line, boxes, "upper")) == "HELLO"


def test_an_exclamation_mark_the_line_model_read_is_not_the_cuts_1(monkeypatch):
    # kj_merry_christmas ends "MERRY CHRISTMAS !": a page in capitals, read by the cuts,
    # whose character model knows no marks and read the ! as 1; the line model read it as !
    from ocrkit import Reader
    from ocrkit.page import read as read_stage
    path = data_file("pages/kj_merry_christmas.jpeg")
    reader = Reader()
    assert reader.read(path).text.splitlines()[-1] == "MERRY CHRISTMAS"
    monkeypatch.setattr(read_stage, "MARK_LOOKALIKES", frozenset())
    assert reader.read(path).text.splitlines()[-1] == "MERRY CHRISTMAS 1"


def test_a_digit_the_line_model_read_as_its_letter_twin_is_that_letter(monkeypatch):
    # kj_raghav_caps "MY NAME IS RAGHAV": to the character model I and 1, S and 5 are one
    # shape, and a word of two look-alikes stayed digits ("15"); the line model read "Is"
    from ocrkit import Reader
    from ocrkit.page import read as read_stage
    path = data_file("pages/kj_raghav_caps.jpeg")
    reader = Reader()
    assert " NAME IS " in reader.read(path).text
    monkeypatch.setattr(read_stage, "_twins_as_read", lambda *args: None)
    assert " NAME 15 " in reader.read(path).text


def test_a_word_the_cuts_misread_is_the_line_models_where_that_is_a_word(monkeypatch):
    # kj_raghav_caps "IMAGE PROCESSING": the G and E touch along a stem, the cuts find no cut
    # and read IMA6 (no word); the line model read "Image" over the same ink
    from ocrkit import Reader
    from ocrkit.page import read as read_stage
    path = data_file("pages/kj_raghav_caps.jpeg")
    reader = Reader()
    page = reader.read(path)
    assert "IMAGE PR" in page.text
    image = next(w for line in page.lines for w in line.words if w.text == "IMAGE")
    boxes = np.array([c.box for c in image.chars], float)
    assert (boxes[:, 2] > boxes[:, 0]).all()                    # the split G and E: two boxes
    assert (np.diff(boxes[:, 0] + boxes[:, 2]) > 0).all()       # left to right
    monkeypatch.setattr(read_stage, "_words_as_read", lambda entry, *args: entry)
    assert "IMA6 PR" in reader.read(path).text


def test_marks_among_capitals_and_under_the_line_models_marks():
    # a comma among capitals: its top below the line's middle, shorter than a capital
    from ocrkit.page import case
    from ocrkit.page import read as read_stage
    boxes = np.array([[0, 0, 10, 40], [12, 0, 20, 40], [22, 28, 26, 48], [30, 0, 40, 40],
                      [42, 2, 50, 41]])
    assert list(case.marks(list("HE9NT"), boxes)) == [False, False, True, False, False]
    boxes[2] = [22, 0, 30, 40]                                  # a 9 as tall as the rest
    assert not case.marks(list("HE9NT"), boxes).any()
    # a 1, I, l or 7 of the cuts where the line model read ! or ?: left out
    work = np.array([[0, 0, 10, 40], [12, 0, 20, 40], [22, 0, 30, 40]])
    assert list(read_stage._at_marks(list("HI1"), work, np.array([25.0]))) == [False, False, True]
    assert not read_stage._at_marks(list("HIA"), work, np.array([25.0])).any()


def test_dropped_characters_leave_the_line_aligned_and_an_empty_line_out():
    # characters left out of every word (marks) are compacted away, so what later stages
    # index by character (the case stage's word numbers) stays aligned
    from ocrkit.page import read as read_stage
    from ocrkit.page.model import Char
    chars = [Char(c, (0, 0, 1, 1), 0.9) for c in "HA7I"]
    work = np.arange(16, dtype=float).reshape(4, 4)
    probs = np.eye(4)
    kept = read_stage._compact((chars, [[0, 1], [3]], work, probs))
    assert [c.label for c in kept[0]] == ["H", "A", "I"] and kept[1] == [[0, 1], [2]]
    np.testing.assert_array_equal(kept[2], work[[0, 1, 3]])
    np.testing.assert_array_equal(kept[3], probs[[0, 1, 3]])
    assert read_stage._compact((chars, [], work, probs))[0] == []


def test_the_line_models_words_replace_the_cuts_only_where_safe():
    # _words_as_read: a cuts word that is mostly look-alike digits is a number, not a word;
    # a reading's word replaces one cuts word at most; its letters carry a crop
    from ocrkit.page import read as read_stage
    from ocrkit.page.clean import clean
    from ocrkit.page.lexicon import load
    from ocrkit.page.model import Char
    cleaned = clean(np.full((60, 200), 255, np.uint8))
    lexicon = load()
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789")

    def line(labels):
        chars = [Char(c, (10 * i, 0, 10 * i + 9, 20), 0.5) for i, c in enumerate(labels)]
        work = np.array([[10 * i, 0, 10 * i + 9, 20] for i in range(len(labels))], float)
        return chars, [list(range(len(labels)))], work, np.ones((len(labels), 3))
    xs = np.array([4.0, 14, 24, 34])
    got = read_stage._words_as_read(line("1000"), xs, "loss", np.ones(4), lexicon, allowed,
                                    cleaned, 1.0)
    assert [c.label for c in got[0]] == list("1000")
    got = read_stage._words_as_read(line("CAX5"), xs, "cats", np.ones(4), lexicon, allowed,
                                    cleaned, 1.0)
    assert [c.label for c in got[0]] == list("cats")
    assert all(c.image is not None and c.image.shape == (32, 32) for c in got[0])
    two = line("CATS")
    two = (two[0] + [Char(c, (60 + 10 * i, 0, 69 + 10 * i, 20), 0.5) for i, c in enumerate("XQ")],
           [[0, 1, 2, 3], [4, 5]], np.vstack([two[2], [[60, 0, 69, 20], [70, 0, 79, 20]]]),
           np.ones((6, 3)))
    got = read_stage._words_as_read(two, xs, "cats", np.ones(4), lexicon, allowed, cleaned, 1.0)
    assert "".join(c.label for c in got[0]) == "CATSXQ"            # CATS is a word: kept


def test_best_path_covers_every_atom_once():
    spans = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    scores = np.array([-1.0, -1.0, -1.0, -0.5, -3.0])
    path = cuts.best_path(3, spans, scores)
    assert [spans[s] for s in path] == [(0, 2), (2, 3)]


def test_segment_atoms_label_the_ink():
    mask = np.zeros((60, 200), bool)
    mask[10:50, 10:14] = True
    mask[10:50, 40:44] = True
    mask[5:8, 41:43] = True                          # a dot over the second stroke
    lines, atoms = segment(mask, height=40.0, stroke=4.0)
    assert len(lines) == 1 and len(lines[0]) == 2
    assert atoms[6, 42] == atoms[20, 42] != atoms[20, 12]      # the dot joined its stroke


# -- lexicon ----------------------------------------------------------------------------------
def test_the_lexicon_settles_what_the_shapes_leave_open_and_invents_nothing():
    from ocrkit.page.lexicon import best_word, load
    words = load()
    assert "the" in words and words["the"] > words["epoch"]           # frequent first
    tne = [[("t", 0.9)], [("n", 0.6), ("h", 0.35)], [("e", 0.9)]]
    assert best_word(tne, words) == ["t", "h", "e"]                   # nearly as likely: a word
    sure = [[("t", 0.9)], [("n", 0.99), ("h", 0.001)], [("e", 0.9)]]
    assert best_word(sure, words) is None                             # the ink says otherwise
    name = [[(c, 0.9)] for c in "RAGHAV"]
    assert best_word(name, words) is None                             # not a word: kept
    digits = [[("1", 0.9)], [("9", 0.9)], [("8", 0.9)], [("2", 0.9)]]
    assert best_word(digits, words) is None                           # numbers are not words


def test_one_stray_digit_in_a_long_word_is_mended_by_the_lexicon_alone():
    from ocrkit.page.lexicon import best_word, load
    words = load()
    # the 7's crop gave O no chance, so no beam over its classes finds PROCESSING
    stray = [[(c, 0.9)] for c in "PR7CESSING"]
    assert best_word(stray, words) == list("PROCESSING")
    assert best_word([[(c, 0.9)] for c in "pr7cessing"], words) == list("processing")
    # short words, two digits, codes with no one word to become: as read
    for read in ("B4", "R2D2", "PR7CESS7NG", "XQ7ZVW"):
        assert best_word([[(c, 0.9)] for c in read], words) is None
    # a digit that could be several letters (b4tter: better, bitter, butter): none chosen
    assert best_word([[(c, 0.9)] for c in "B4TTER"], words) is None


def test_lexicon_files_from_users_are_checked(tmp_path):
    from ocrkit.page.lexicon import load
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(OcrkitError, match="UTF-8"):
        load(str(tmp_path / "bin.txt"))
    (tmp_path / "mine.txt").write_text("gustav\nmahler\n")
    assert set(load(str(tmp_path / "mine.txt"))) == {"gustav", "mahler"}


# -- recognize: the cuts or the line model ------------------------------------------------------
@pytest.fixture(scope="module")
def line_model():
    from ocrkit.lines import load_line_model
    return load_line_model()


def used(page) -> str:
    return next(s.settings["used"] for s in page.steps if s.id == "recognize")


def test_joined_lower_case_is_read_by_the_line_model(model, line_model):
    # touching small letters: the cuts must guess where one letter ends, the line model reads
    # the line whole; "auto" sees a page that is not in capitals and takes the line model
    text = "the quick brown fox jumps over the lazy dog"
    for seed in (1, 2):
        image, _ = grey_page(text, seed=seed, case="mixed", touching=0.6)
        by_cuts = read_page(image, model, recognizer="cuts", line_model=line_model)
        auto = read_page(image, model, line_model=line_model)
        assert used(by_cuts) == "cuts" and used(auto) == "line"
        assert cer(auto, text) < 0.35 < cer(by_cuts, text), (auto.text, by_cuts.text)
        # one page model either way: every character has a box on the page and a crop
        chars = [c for line in auto.lines for w in line.words for c in w.chars]
        assert all(0 <= c.box[0] < c.box[2] <= image.shape[1] for c in chars)
        assert all(c.image.shape == (32, 32) for c in chars)


def test_a_page_in_capitals_keeps_the_cuts(model, line_model):
    image, lines = grey_page("HELLO WORLD\nTHE QUICK FOX", seed=3)
    page = read_page(image, model, line_model=line_model)
    assert used(page) == "cuts"
    assert cer(page, truth_of(lines)) < 0.1, page.text


def test_a_page_the_line_model_reads_as_lower_case_keeps_its_case():
    # a real phone photo of small lower-case letters (bert_alphabet_photo): the line model
    # finds them lower case and reads the page; the case is decided by that same reading, not
    # again from the committee's averaged probabilities, which are too low there to count as
    # sure letters (page_case alone called the page capitals: "UNCDEGHIJK")
    from ocrkit.reader import Reader
    page = Reader().read(data_file("pages/bert_alphabet_photo.jpg"))
    assert used(page) == "line"
    assert next(s.settings["decided"] for s in page.steps if s.id == "case") == "mixed"
    assert sum(c.islower() for c in page.text) >= 5, page.text


def test_lines_written_uphill_reach_the_line_model_level(model, line_model, monkeypatch):
    # lines that slope on their own (drift) after the page was turned level: a straight band
    # through the line cuts the letters at its ends in half; its columns shifted by the line's
    # slope (ocrkit.lines.line_slope) it reads as well as a level one
    from ocrkit import lines
    text = "the quick brown fox jumps over the lazy dog\nand then it ran away from all of them"
    for seed in (1, 2):
        image, _ = grey_page(text, seed=seed, case="mixed", drift=3)
        level = read_page(image, model, line_model=line_model)
        with monkeypatch.context() as m:
            m.setattr(lines, "line_slope", lambda line: 0.0)
            straight = read_page(image, model, line_model=line_model)
        # (straight: 17% and 20% with the first line model, 17% and 14% with the one trained
        # further, which reads half-cut letters better; levelled: 0-1% with both)
        assert cer(level, text) < 0.05 and cer(straight, text) > 0.1, (level.text, straight.text)
        # boxes still on the page's characters: inside the image, one per character read
        chars = [c for line in level.lines for w in line.words for c in w.chars]
        assert all(0 <= c.box[1] < c.box[3] <= image.shape[0] for c in chars)


def test_lines_the_character_model_rejects_are_left_out(monkeypatch):
    # a real phone photo (sf_code_c): the line model also reads the table's edge along the
    # sheet as a line; the character model rejects its crops, and read_page leaves the line
    # out (read.JUNK_LINE). Of the dev pages this is the one the clean stage leaves such a
    # line on now (the hue rule takes sampath's table, the rule strips kj_khushboo's binding)
    from ocrkit.page import read
    from ocrkit.reader import Reader
    photo = data_file("pages/sf_code_c.jpg")
    truth = photo.with_name(photo.stem + ".gt.txt").read_text()
    reader = Reader()
    kept = reader.read(photo)
    monkeypatch.setattr(read, "JUNK_LINE", 2.0)          # no line is ever junk
    every = reader.read(photo)
    assert len(kept.lines) < len(every.lines)
    assert cer(kept, truth) < cer(every, truth) - 0.04, (kept.text, every.text)


def test_a_capitals_page_drops_the_lines_both_models_call_no_writing(model, line_model,
                                                                     monkeypatch):
    # a card on a table, in capitals (read by the cuts): the ticks along the card's edge make
    # a line the cuts read as 1s and Ls; the line model read it too, and the character model
    # rejects what it found there, so the cuts leave it out
    from ocrkit.page import read
    text = "CALL ME AT FIVE\nBRING THE MAP\nMEET AT NOON"
    image, _ = render_page(text, seed=1, clutter=True, holes=True)
    kept = read_page(image, model, line_model=line_model)
    with monkeypatch.context() as m:
        m.setattr(read, "JUNK_LINE", 2.0)
        every = read_page(image, model, line_model=line_model)
    assert used(kept) == used(every) == "cuts"
    assert cer(kept, text) < 0.05 and cer(every, text) > 0.1, (kept.text, every.text)


def test_recognizer_line_needs_a_line_model(model):
    image, _ = grey_page("HELLO", seed=1)
    with pytest.raises(OcrkitError, match="line model"):
        read_page(image, model, recognizer="line")


def test_confidences_are_mapped_as_the_model_file_says_and_bad_maps_ignored(model):
    # make calibrate stores a map of the final confidence to the chance of being right on
    # real pages (scores["calibration"]["page"]); read_page applies it after every decision
    import copy

    from ocrkit.page.read import calibrate_confidence
    image, _ = grey_page("HELLO WORLD", seed=2)
    plain = copy.deepcopy(model)
    plain.scores = dict(plain.scores or {}, calibration={"temperature": 1.0})
    raw = read_page(image, plain)
    mapped_model = copy.deepcopy(plain)
    mapped_model.scores["calibration"] = {"temperature": 1.0, "page": [0.6, 0.9]}
    mapped = read_page(image, mapped_model)
    assert mapped.text == raw.text
    before = np.array([c.confidence for c in raw.chars])
    after = np.array([c.confidence for c in mapped.chars])
    np.testing.assert_allclose(after, calibrate_confidence(before, (0.6, 0.9)), rtol=1e-6)
    assert not np.allclose(after, before)
    for bad in ([float("nan"), 0.0], [-1.0, 0.0], "ab", [1.0], None):
        mapped_model.scores["calibration"]["page"] = bad
        again = read_page(image, mapped_model)
        np.testing.assert_allclose([c.confidence for c in again.chars], before)


def test_strokes_far_fainter_than_the_writing_beside_them_are_left_out():
    # a torn scrap's edge: its shadow is a grey stroke beside a word (a line's end) or alone
    # on a line; a notebook's printed header is faint throughout and stays
    from ocrkit.page.segment import drop_faint
    ink = np.zeros((300, 600), np.float32)
    for x in range(100, 500, 60):                       # a word of dark letters
        ink[40:80, x:x + 30] = 1.0
    ink[30:90, 60:66] = 0.3                             # the edge's shadow at its left end
    ink[140:180, 300:306] = 0.3                         # ... and alone on a line
    for x in range(100, 400, 60):                       # a faint printed line
        ink[220:260, x:x + 30] = 0.35
    mask = ink > 0.1
    lines, atoms = segment(mask, 40.0, 6.0)
    assert [len(line) for line in lines] == [8, 1, 5]
    kept = drop_faint(lines, atoms, ink)
    assert [len(line) for line in kept] == [7, 5]
    assert kept[0].boxes[:, 0].min() == 100 and kept[0].band == lines[0].band
    assert drop_faint([], atoms, ink) == []
