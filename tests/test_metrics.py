"""Edit distance (rapidfuzz) against the textbook dynamic programme, and CER/WER from it."""
from __future__ import annotations

import numpy as np

from ocrkit.metrics import edit_distance, error_rates


def levenshtein(a, b) -> int:
    """The Wagner-Fischer table, row by row: the oracle (ocrkit's own until rapidfuzz)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_edit_distance_equals_the_dynamic_programme_on_random_texts(rng):
    alphabet = np.array(list("AB C\nDE\u00e90"))
    for _ in range(2000):
        a, b = ("".join(rng.choice(alphabet, rng.integers(0, 25))) for _ in range(2))
        assert edit_distance(a, b) == levenshtein(a, b), (a, b)
        assert edit_distance(a.split(), b.split()) == levenshtein(a.split(), b.split())


def test_edit_distance_edge_cases():
    assert edit_distance("", "") == 0
    assert edit_distance("", "ABC") == 3 and edit_distance("ABC", "") == 3
    assert edit_distance("KITTEN", "SITTING") == 3
    assert edit_distance(["TO", "DO"], ["TO", "DO", "LIST"]) == 1
    assert isinstance(edit_distance("A", "B"), int)


def test_error_rates_after_normalising():
    r = error_rates("hello  world\n\n", "HELO WORLD\nX")
    assert (r["char_errors"], r["chars"]) == (3, 12)       # L, the line break and X
    assert (r["word_errors"], r["words"]) == (2, 3)
    assert r["cer"] == 3 / 12 and r["wer"] == 2 / 3


def test_expected_calibration_error_tells_calibrated_from_overconfident():
    from ocrkit.metrics import expected_calibration_error
    rng = np.random.default_rng(0)
    conf = rng.random(20000)
    honest = rng.random(20000) < conf               # right with the stated probability
    assert expected_calibration_error(conf, honest) < 0.02
    boastful = rng.random(20000) < conf / 2         # right half as often as it says
    assert abs(expected_calibration_error(conf, boastful) - 0.25) < 0.02


def test_aligned_correct_marks_each_read_character():
    from ocrkit.metrics import aligned_correct
    # "HELL0 W0RLD" against "hello world": the two zeros are wrong, spaces are not counted
    assert aligned_correct("HELL0 W0RLD", "hello world").tolist() == \
        [True, True, True, True, False, True, False, True, True, True]
