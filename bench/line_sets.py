"""Line models side by side (default: models/line.pkl) on three kinds of composed test
lines: handwriting only, handwriting with punctuation (40% of lines), and printed lines
(every line set in a font). CER over the letters, digits and spaces of the text (the marks
are left out of both sides, as read_lines leaves them out of the page), case-sensitive.
500 lines each from the test split, seed 0.

    OCRKIT_DATA=../shared/data python bench/line_sets.py [MODEL ...]
"""
import sys

import numpy as np

from ocrkit.data.lines import LineComposer, glyph_pool, random_texts, text_of
from ocrkit.lines import load_line_model, read_lines
from ocrkit.metrics import error_rates

pool = glyph_pool("test")
models = {m: load_line_model(m) for m in sys.argv[1:] or ["models/line.pkl"]}
for punct, printed in ((0.0, 0.0), (0.4, 0.0), (0.0, 1.0)):
    texts = random_texts(500, np.random.default_rng([0, 2]), punctuation=punct)
    lines = LineComposer(pool, printed=printed)(texts, np.random.default_rng([0, 2, 1]))
    truth = ["".join(c for c in text_of(t) if c.isalnum() or c == " ") for t in texts]
    for m, model in models.items():
        rs = read_lines(list(lines), model)
        e = sum(error_rates(r.text, t, case_sensitive=True)["char_errors"] for r, t in zip(rs, truth))
        n = sum(len(" ".join(t.split())) for t in truth)
        print(f"punct {punct} printed {printed} {m}: CER (letters, digits, spaces) {100*e/n:.1f}%")
