"""Line recognition (ocrkit.lines) and the lines it learns from (ocrkit.data.lines): composed
lines hold what their texts say where the boxes say, the one Trainer learns a sequence task
with CTC, and the shipped line model reads lines at any height."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from ocrkit import modelfile
from ocrkit.data.dataset import BYCLASS
from ocrkit.data.synth import PUNCTUATION
from ocrkit.data.lines import (FIRST_CHAR, HEIGHT, LINE_CLASSES, SPACE, GlyphPool, LineComposer,
                               punctuation_glyphs, random_texts, text_of)
from ocrkit.data.synth import render_characters
from ocrkit.engine import Adam, Network
from ocrkit.engine.ctc import CTCLoss
from ocrkit import lines as lines_module
from ocrkit.lines import fit_height, load_line_model, network_for, read_line, read_lines
from ocrkit.metrics import error_rates
from ocrkit.train import Trainer


@lru_cache(maxsize=2)
def synth_pool(seed: int = 0, per_class: int = 3) -> GlyphPool:
    """A small pool of synth62 characters and punctuation marks (no data files needed)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(BYCLASS)), per_class)
    x = render_characters(y, rng, BYCLASS)
    mx, my = punctuation_glyphs(per_class, rng)
    return GlyphPool.build(np.concatenate([x, mx]), np.concatenate([y, my]),
                           np.ones(len(y) + len(my), bool))


def encode(text: str) -> np.ndarray:
    return np.array([LINE_CLASSES.index(c) for c in text])


def test_random_texts_are_words_of_line_classes(rng):
    texts = random_texts(300, rng)
    assert texts.shape == (300, 14)
    for row in texts:
        body = row[row >= 0]
        assert len(body) >= 1 and np.all(row[len(body):] == -1)        # padding at the end
        assert body[0] != SPACE and body[-1] != SPACE
        assert not np.any((body[1:] == SPACE) & (body[:-1] == SPACE))
        assert np.all(body >= SPACE) and text_of(row).strip() == text_of(row)


def test_composed_lines_hold_their_text_where_the_boxes_say(rng):
    texts = np.full((3, 9), -1)
    for i, t in enumerate(["Oo Pp Hh", "gyp 42", "Xx"]):
        texts[i, :len(t)] = encode(t)
    composer = LineComposer(synth_pool(), touching=0.0, letter_gap=(0.15, 0.3),
                            underline=0.0)
    lines, (where, boxes) = composer.compose(texts, rng)
    assert lines.shape == (3, HEIGHT, composer.width) and lines.dtype == np.float32
    assert 0 <= lines.min() and lines.max() <= 1
    assert [tuple(w) for w in where] == [(i, j) for i in range(3) for j in range(9)
                                         if texts[i, j] >= FIRST_CHAR]
    # every character's box has ink; nothing is drawn outside the boxes (ink boxes are
    # where it is above half strength: its soft edge may reach a pixel or two beyond)
    outside = np.ones(lines.shape, bool)
    for (n, _), (x0, y0, x1, y1) in zip(where, boxes):
        r0, r1 = int(np.floor(y0)), int(np.ceil(y1))
        c0, c1 = int(np.floor(x0)), int(np.ceil(x1))
        assert lines[n, r0:r1, c0:c1].sum() > 5
        outside[n, max(r0 - 2, 0):r1 + 2, max(c0 - 2, 0):c1 + 2] = False
    assert lines[outside].max() < 0.05
    # left to right in text order; sizes and places by class on the first line
    for n in range(3):
        mine = boxes[where[:, 0] == n]
        assert np.all(np.diff((mine[:, 0] + mine[:, 2]) / 2) > 0)
    first = dict(zip("OoPpHh", boxes[where[:, 0] == 0]))
    cap = first["O"][3] - first["O"][1]
    assert 0.45 < (first["o"][3] - first["o"][1]) / cap < 0.75        # x-height letter
    assert first["p"][3] - first["O"][3] > 0.2 * cap                    # descender below
    assert abs(first["h"][1] - first["H"][1]) < 0.15 * cap              # ascender: cap line
    # the ink spans the height less small margins
    rows = np.flatnonzero(lines[0].max(1) > 0.5)
    assert rows[0] <= 4 and rows[-1] >= HEIGHT - 5


def test_the_composer_is_an_augmentation_of_texts(rng):
    texts = random_texts(8, rng).astype(np.float32)       # as the Trainer holds its inputs
    composer = LineComposer(synth_pool())
    a = composer(texts, np.random.default_rng(1))
    b = composer(texts, np.random.default_rng(2))
    assert a.shape == (8, HEIGHT, composer.width) and np.all(a.max(axis=(1, 2)) == 1)
    assert not np.allclose(a, b)                          # new writers each call


def toy_lines(n, rng):
    """Lines 8 x 24 of 2-3 blocks, class 2 in the upper rows, class 3 in the lower."""
    x = np.zeros((n, 8, 24), np.float32)
    y = np.full((n, 3), -1)
    for i in range(n):
        col = int(rng.integers(0, 3))
        for j in range(int(rng.integers(2, 4))):
            k = int(rng.integers(2, 4))
            x[i, (0 if k == 2 else 4):(4 if k == 2 else 8), col:col + 4] = 1
            y[i, j] = k
            col += 4 + int(rng.integers(2, 4))
    return x, y


def test_the_trainer_learns_a_sequence_task_with_ctc(rng):
    specs = [{"type": "conv2d", "filters": 6, "activation": "tanh"}, {"type": "maxpool2d"},
             {"type": "columns"},
             {"type": "conv2d", "filters": 4, "kernel": 1, "activation": "identity"}]
    net = Network(specs, (8, 24), rng)
    x, y = toy_lines(96, rng)
    vx, vy = toy_lines(32, rng)
    trainer = Trainer(net, CTCLoss(), Adam(0.03), epochs=25, batch_size=16, seed=0,
                      progress=False)
    result = trainer.fit(x, y, valid=(vx, vy))
    loss = result.history["train_loss"]
    assert loss[-1] < 0.2 * loss[0]
    assert result.best_score > 0.9                       # 1 - CER on unseen toy lines


def test_fit_height_scales_any_crop_to_the_line_frame():
    ink = np.zeros((90, 300), np.float32)
    ink[20:80, 50:60] = 0.5                               # a faint bar, 60 high
    ink[40:80, 200:240] = 0.5
    line, scale, x0 = fit_height(ink)
    assert line.shape[0] == HEIGHT and line.max() == 1    # contrast stretched
    rows = np.flatnonzero(line.max(1) > 0.5)
    assert rows[0] == 2 and rows[-1] == HEIGHT - 3        # 2 px of paper above and below
    assert scale == pytest.approx(28 / 60)
    cols = np.flatnonzero(line.max(0) > 0.5)
    assert x0 + cols[0] / scale == pytest.approx(50, abs=2.5)            # back to the crop
    assert x0 + (cols[-1] + 1) / scale == pytest.approx(240, abs=2.5)
    assert fit_height(np.zeros((10, 10), np.float32))[0].max() == 0


@pytest.fixture(scope="module")
def line_model():
    return load_line_model()


def test_the_line_model_reads_composed_lines_at_any_height(line_model):
    rng = np.random.default_rng(7)
    pool = synth_pool(seed=11)                      # characters the model has not seen
    texts = random_texts(24, rng, punctuation=0.0)  # (marks are read, then left out: below)
    lines = LineComposer(pool)(texts, rng)
    truth = [text_of(t) for t in texts]
    readings = read_lines(list(lines), line_model)
    errors = sum(error_rates(r.text, t, case_sensitive=True)["char_errors"]
                 for r, t in zip(readings, truth))
    assert errors / sum(len(t) for t in truth) < 0.35
    # one line three times as large, in a wider crop with paper around it: the same reading
    big = np.kron(lines[0], np.ones((3, 3), np.float32))
    crop = np.pad(big, ((30, 20), (40, 60)))
    again = read_line(crop, line_model)
    assert again.text == readings[0].text
    assert len(again.confidence) == len(again.x) == len(again.text)
    assert np.all((0 < again.confidence) & (again.confidence <= 1))
    assert np.all(np.diff(again.x) > 0) and 40 <= again.x.min() and again.x.max() <= 40 + big.shape[1]


def test_a_line_model_file_round_trips_and_is_not_a_classifier(line_model, tmp_path):
    assert line_model.kind == "line" and line_model.classes[:2] == ("", " ")
    path = tmp_path / "line.pkl"
    modelfile.save(line_model, path)
    again = modelfile.load(path)
    x = np.random.default_rng(0).random((2, HEIGHT, 64)).astype(np.float32)
    from ocrkit.lines import network_for
    assert np.array_equal(network_for(again, 64).predict(x), network_for(line_model, 64).predict(x))
    from ocrkit.errors import OcrkitError
    with pytest.raises(OcrkitError, match="line model, not a classifier"):
        again.predict_proba(x)


def test_train_lines_makes_a_line_model_with_its_scores(tmp_path):
    from ocrkit.lines import train_lines
    pool = synth_pool()
    model, result = train_lines(lines=32, epochs=2, batch_size=16, width=96, valid_lines=16,
                                test_lines=16, pools=(pool, pool, pool), progress=False)
    assert model.kind == "line" and model.classes == LINE_CLASSES
    assert len(result.history["train_loss"]) == 2 and result.history["train_loss"][1] < \
        result.history["train_loss"][0]
    assert set(model.scores) >= {"valid_cer", "test_cer"}
    assert model.scores["valid_cer"] == pytest.approx(1 - result.best_score)
    modelfile.save(model, tmp_path / "line.pkl")
    assert modelfile.load(tmp_path / "line.pkl").training["lines"] == 32


def test_train_lines_refuses_an_unwritable_output_before_training(tmp_path):
    from click.testing import CliRunner
    from ocrkit.cli import main
    result = CliRunner().invoke(main, ["train-lines", "-o", str(tmp_path / "no" / "line.pkl")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'no' / 'line.pkl'}: folder {tmp_path / 'no'} does not exist"]


def test_word_gaps_are_the_paper_between_characters_in_character_heights():
    from ocrkit.lines import word_gaps
    from ocrkit.page.segment import word_spaces
    line = np.zeros((HEIGHT, 120), np.float32)
    starts = [4, 16, 28, 64, 76]                          # bars 6 wide, 28 high
    for x in starts:
        line[2:30, x:x + 6] = 1
    centres = np.array(starts) + 3.0
    gaps = word_gaps(line, centres)
    assert np.allclose(gaps, np.array([6, 6, 30, 6]) / 28)
    assert word_spaces(gaps).tolist() == [False, False, True, False]


def test_fit_height_grows_thin_strokes():
    from ocrkit.data.normalize import stroke_width
    ink = np.zeros((200, 400), np.float32)
    ink[20:180, 40:43] = 1                                # a pen line 3 px wide, 160 high
    ink[20:23, 40:300] = 1
    line, _, _ = fit_height(ink)
    assert stroke_width(line > 0.5) >= 2.4


def test_page_text_settles_look_alikes_by_word_and_the_case_of_a_capitals_page(line_model):
    from ocrkit.lines import LineReading, page_text
    classes = line_model.classes

    def reading(text, twins=()):
        probs = np.zeros((len(text), len(classes)))
        for i, c in enumerate(text):
            if c != " ":
                probs[i, classes.index(c)] = 0.6
        for i, twin in twins:
            probs[i, classes.index(twin)] = 0.3
        return LineReading(text, np.full(len(text), 0.9), np.arange(len(text), dtype=float),
                           probs)

    lines = [reading("HELL0 W0RLD", [(4, "O"), (7, "O")]), reading("tHIS IS 2024")]
    assert page_text(lines, line_model) == "HELLO WORLD\nTHIS IS 2024"
    assert page_text(lines, line_model, context=False, case="mixed") == "HELL0 W0RLD\ntHIS IS 2024"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(input_shape=[28, 192]), "lines 32 high"),
    (lambda d: d.update(classes=d["classes"][:-1]),
     f"{len(LINE_CLASSES)} scores a column for {len(LINE_CLASSES) - 1} classes"),
    (lambda d: d.update(kind="classifier"), "32x32"),
])
def test_a_line_model_file_that_does_not_fit_is_refused(line_model, tmp_path, change, expected):
    import pickle
    from ocrkit.errors import OcrkitError
    d = line_model.to_dict()
    change(d)
    (tmp_path / "odd.pkl").write_bytes(pickle.dumps(d))
    with pytest.raises(OcrkitError, match=expected):
        modelfile.load(tmp_path / "odd.pkl")


def test_a_classifier_is_not_a_line_model(tmp_path):
    import pickle
    from ocrkit.errors import OcrkitError
    specs = [{"type": "flatten"}, {"type": "dense", "units": 4, "activation": "softmax"}]
    d = modelfile.Model(Network(specs, (32, 32)), ("",) + tuple("ABC")).to_dict()
    d["kind"] = "line"
    (tmp_path / "odd.pkl").write_bytes(pickle.dumps(d))
    with pytest.raises(OcrkitError, match="one row of columns"):
        modelfile.load(tmp_path / "odd.pkl")


def test_long_lines_are_read_in_windows_with_the_whole_lines_logits(line_model, rng):
    # a line is read in windows of WINDOW pixels, each with CONTEXT pixels of the line either
    # side: every column sees what it sees in the whole line (with paper after its end)
    lines = [(rng.random((HEIGHT, w)) > 0.85).astype(np.float32) for w in (1500, 700, 90)]
    width = 1500 + 2 * lines_module.CONTEXT
    batch = np.zeros((len(lines), HEIGHT, width), np.float32)
    for n, line in enumerate(lines):
        batch[n, :, :line.shape[1]] = line
    whole = network_for(line_model, width).predict(batch).reshape(len(lines), -1,
                                                                   len(line_model.classes))
    windowed = lines_module._windowed_logits(lines, line_model)
    for n, line in enumerate(lines):
        columns = -(-line.shape[1] // lines_module.STRIDE)
        np.testing.assert_allclose(windowed[n, :columns], whole[n, :columns], atol=2e-3)
    # a line far wider than any one network the engine would build for it (over its limit
    # of multiply-adds a sample) is read all the same
    line = LineComposer(synth_pool(seed=11))(random_texts(1, rng), rng)[0]
    wide = np.tile(line, (1, 120))
    with pytest.raises(ValueError, match="limit"):
        network_for(line_model, wide.shape[1])
    assert len(read_lines([wide], line_model)[0].text) >= 120


def test_train_lines_init_starts_from_the_given_model(line_model):
    """`init` (--init): the run starts from the model's parameters. With a learning rate too
    small to move them, one epoch ends where the init's weights are; without init it ends at
    random ones. A model of another architecture is refused before any data is drawn."""
    from ocrkit.errors import OcrkitError
    from ocrkit.lines import line_specs, train_lines
    pool = synth_pool()
    options = dict(lines=16, epochs=1, batch_size=16, width=96, valid_lines=8, test_lines=8,
                   lr=1e-9, pools=(pool, pool, pool), progress=False)
    weights = lambda m: {k: v for k, v in m.network.get_params().items()   # not the BN stats
                         if k.rsplit(".", 1)[1] not in ("mean", "var")}
    start = weights(line_model)
    started, _ = train_lines(init=line_model, **options)
    fresh, _ = train_lines(**options)
    known = len(line_model.classes)             # a model from before punctuation grows classes
    cut = lambda k, v: v[..., :known] if k.startswith("10.") else v     # noqa: E731
    assert all(np.allclose(cut(k, v), start[k], atol=1e-6) for k, v in weights(started).items())
    assert not any(np.allclose(cut(k, v), start[k], atol=1e-3)
                   for k, v in weights(fresh).items() if k.endswith(".W"))
    assert started.training["init"] == line_model.source
    assert started.training["init_training"]["epochs"] == line_model.training["epochs"]
    assert 0 <= started.training["init_valid_cer"] <= 1 and "init" not in fresh.training
    specs = line_specs()
    specs[0] = dict(specs[0], filters=8)
    odd = modelfile.Model(Network(specs, (HEIGHT, 96)), LINE_CLASSES, "line")
    with pytest.raises(OcrkitError, match="architecture or classes are not those"):
        train_lines(init=odd, **options)


def test_random_texts_put_punctuation_at_the_ends_of_words(rng):
    """About a third of the lines carry marks, each where code and forms put them: opening
    marks first in a word, closing ones last, the others as words of their own."""
    from ocrkit.data.lines import ALONE, CLOSING, OPENING
    texts = [text_of(t) for t in random_texts(3000, rng)]
    marked = [t for t in texts if any(c in PUNCTUATION for c in t)]
    assert 0.2 < len(marked) / len(texts) < 0.45
    assert not any(c in PUNCTUATION for t in random_texts(500, rng, punctuation=0.0)
                   for c in text_of(t))
    for word in (w for t in marked for w in t.split()):
        inner = [c for c in word[1:-1] if c in PUNCTUATION]
        assert not inner, word
        if len(word) == 1:
            continue
        assert word[0] not in PUNCTUATION or word[0] in OPENING, word
        assert word[-1] not in PUNCTUATION or word[-1] in CLOSING, word
    assert {w for t in marked for w in t.split() if len(w) == 1} & set(ALONE)


def _with_classes(model, n: int):
    """`model` cut down to its first n classes (a line model from before punctuation)."""
    from ocrkit.lines import line_specs
    net = Network(line_specs(n), (HEIGHT, 96))
    params = model.network.get_params()
    net.set_params({k: (v[..., :n] if k.startswith("10.") else v) for k, v in params.items()})
    return modelfile.Model(net, tuple(model.classes[:n]), "line")


def test_a_grown_line_model_reads_as_the_one_it_grew_from(line_model, rng):
    """A 64-class line model trained further with punctuation (--init) starts reading exactly
    as it did: the new classes' scores start below the old ones'."""
    from ocrkit.lines import _grown
    old = _with_classes(line_model, 64)
    net = Network(lines_module.line_specs(), (HEIGHT, 96))
    net.set_params(_grown(old, net))
    grown = modelfile.Model(net, LINE_CLASSES, "line")
    lines = LineComposer(synth_pool(seed=5))(random_texts(12, rng), rng)
    assert [r.text for r in read_lines(list(lines), grown)] == \
        [r.text for r in read_lines(list(lines), old)]


def test_read_lines_leave_punctuation_out(line_model, rng):
    """A column read as a mark is dropped from the text; read as a letter, it stays."""
    from ocrkit.lines import _grown
    lines = LineComposer(synth_pool(seed=5))(random_texts(2, rng), rng)
    for label, text in (("(", ""), ("k", "k")):
        net = Network(lines_module.line_specs(), (HEIGHT, 96))
        params = _grown(_with_classes(line_model, 64), net)
        params["10.b"] = params["10.b"].copy()
        params["10.b"][LINE_CLASSES.index(label)] = 100.0        # every column reads it
        net.set_params(params)
        model = modelfile.Model(net, LINE_CLASSES, "line")
        assert [r.text for r in read_lines(list(lines), model)] == [text, text]


def test_printed_lines_set_the_text_in_a_font_at_the_composers_fit(rng):
    """A form's printed labels: each text set in one of matplotlib's fonts, ink spanning the
    height less the margins, left-aligned, shrunk whole when too long; a composer with
    `printed` 1 sets every line so, with 0 none."""
    from ocrkit.data.lines import printed_lines
    texts = np.full((3, 14), -1)
    for i, t in enumerate(["Name:", "Date (DD)", "x" * 14]):
        texts[i, :len(t)] = encode(t)
    lines = printed_lines(texts, np.random.default_rng(0))
    assert lines.shape == (3, HEIGHT, 192) and lines.dtype == np.float32
    for n, line in enumerate(lines):
        rows = np.flatnonzero(line.max(1) > 0.5)
        cols = np.flatnonzero(line.max(0) > 0.5)
        assert cols[0] <= 6
        if n < 2:                                                       # fills the height
            assert rows[0] <= 4 and rows[-1] >= HEIGHT - 5 and cols[-1] < 185
        else:                                      # too long: shrunk whole, fills the width
            assert rows[0] > 4 and cols[-1] >= 185
    # the same texts, the same generator state: the same lines; a longer text is wider
    assert np.array_equal(lines, printed_lines(texts, np.random.default_rng(0)))
    first = np.flatnonzero(lines[0].max(0) > 0.5)[-1]
    assert np.flatnonzero(lines[1].max(0) > 0.5)[-1] > 0.8 * first
    pool = synth_pool()
    composer = LineComposer(pool, printed=1.0, underline=0.0)
    every = composer(texts.astype(np.float32), np.random.default_rng(1))
    none = LineComposer(pool, printed=0.0, underline=0.0)(texts.astype(np.float32),
                                                          np.random.default_rng(1))
    assert every.shape == none.shape == (3, HEIGHT, 192) and not np.allclose(every, none)
    # the composer's finish (pen, blur, noise) still runs on printed lines: the ink's peak is 1
    assert np.allclose(every.reshape(3, -1).max(1), 1.0)



def test_the_lexicon_may_give_a_line_models_word_a_letter_it_missed():
    # columns read "helo" (the second l only half as likely as a blank in its column): the
    # lexicon puts it back, since "hello" explains the columns nearly as well; a word the
    # columns clearly spell otherwise ("xqz") and a lexicon word read as it is stay
    from ocrkit.lines import by_length, lexicon_word
    from ocrkit.page.lexicon import load
    classes = list(LINE_CLASSES)
    lexicon = load()
    words = by_length(lexicon)

    def columns(*steps):
        lp = np.full((len(steps), len(classes)), np.log(1e-4))
        for t, step in enumerate(steps):
            for ch, p in step.items():
                lp[t, 0 if ch == "_" else classes.index(ch)] = np.log(p)
        return lp

    sure = {"_": 0.999}
    helo = columns({"h": 0.99}, sure, {"e": 0.99}, sure, {"l": 0.99}, sure,
                   {"_": 0.6, "l": 0.35}, {"o": 0.99}, sure)
    assert lexicon_word(helo, "helo", classes, lexicon, words) == "hello"
    clear = columns({"x": 0.99}, sure, {"q": 0.99}, sure, {"z": 0.99}, sure)
    assert lexicon_word(clear, "xqz", classes, lexicon, words) is None
    hello = columns({"h": 0.99}, sure, {"e": 0.99}, sure, {"l": 0.99}, sure, {"l": 0.99},
                    sure, {"o": 0.99}, sure)
    assert lexicon_word(hello, "hello", classes, lexicon, words) is None
    # an l's stroke read as an i's, twice (sf_code_java "Cheiio"): i and l are one letter to
    # the lexicon, three edits from "hello" as spelt but one as shaped
    heiio = columns({"h": 0.99}, sure, {"e": 0.99}, sure, {"i": 0.9, "l": 0.05}, sure,
                    {"i": 0.9, "l": 0.05}, sure, {"o": 0.99}, sure)
    assert lexicon_word(heiio, "heiio", classes, lexicon, words) == "hello"
    # ... but a word read surely as a lexicon word is not its commoner i/l twin (fail, fall)
    fail = columns({"f": 0.999}, sure, {"a": 0.999}, sure, {"i": 0.999}, sure, {"l": 0.999},
                   sure)
    assert lexicon_word(fail, "fail", classes, lexicon, words) is None


def test_the_lexicon_splits_a_word_at_a_lost_word_space():
    # columns read "timesit" as one word (ms_shopping_list, sampath_best_of_times: the gaps
    # too narrow for word_spaces): split at its widest gap, since "times" and "it" are words;
    # not where that gap is no wider than the others, nor a word whose parts are no words
    from ocrkit.lines import _split_words, by_length
    from ocrkit.page.lexicon import load
    classes = list(LINE_CLASSES)
    lexicon = load()
    words = by_length(lexicon)

    def reading(text):
        lp = np.full((2 * len(text), len(classes)), np.log(1e-4))
        lp[1::2, 0] = np.log(0.999)
        lp[np.arange(0, 2 * len(text), 2), [classes.index(ch) for ch in text]] = np.log(0.999)
        return np.array([classes.index(ch) for ch in text]), np.arange(0, 2 * len(text), 2), lp

    labels, columns, lp = reading("timesit")
    wide = np.array([0.1, 0.0, 0.1, 0.05, 0.45, 0.1])
    spaces = [False] * 6
    assert _split_words(labels, columns, spaces, wide, lp, classes, lexicon, words) == \
        [False] * 4 + [True, False]
    even = np.array([0.1, 0.0, 0.4, 0.05, 0.45, 0.1])
    assert not any(_split_words(labels, columns, spaces, even, lp, classes, lexicon, words))
    narrow = wide * 0.5
    assert not any(_split_words(labels, columns, spaces, narrow, lp, classes, lexicon, words))
    labels, columns, lp = reading("xqzvjk")
    middle = np.array([0.1, 0.45, 0.1, 0.05, 0.1])
    assert not any(_split_words(labels, columns, [False] * 5, middle, lp, classes, lexicon,
                                words))
    # a lexicon word stays whole whatever its gaps ("sometimes" is no "some times"), and a
    # part of two letters must be a common word: "neha" is no "ne ha" (the lexicon holds
    # most pairs of letters), while "isit" is "is it"
    labels, columns, lp = reading("sometimes")
    gaps = np.array([0.1, 0.0, 0.1, 0.45, 0.1, 0.0, 0.1, 0.05])
    assert not any(_split_words(labels, columns, [False] * 8, gaps, lp, classes, lexicon,
                                words))
    for text, split in (("neha", False), ("isit", True)):
        labels, columns, lp = reading(text)
        assert _split_words(labels, columns, [False] * 3, np.array([0.05, 0.45, 0.05]), lp,
                            classes, lexicon, words) == [False, split, False], text


def test_the_lexicon_corrects_a_real_line_read_whole(line_model):
    # a real photo (nick_hello_cv, "Hello computer Vision"): read without the lexicon the
    # line model drops the first i of Vision; with it the word is whole
    from conftest import data_file
    from ocrkit.page.read import read_page
    path = data_file("pages/nick_hello_cv.jpg")
    model = modelfile.load(modelfile.default_model_path())
    truth = path.with_name("nick_hello_cv.gt.txt").read_text()
    plain = read_page(path, model, line_model=line_model, lexicon=False)
    looked_up = read_page(path, model, line_model=line_model)
    assert error_rates(looked_up.text, truth)["cer"] < error_rates(plain.text, truth)["cer"]
    assert "vision" in looked_up.text.lower()
