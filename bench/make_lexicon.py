"""`make lexicon`: ocrkit/page/lexicon-en.txt, the English words the page reader prefers.

The 30,000 most frequent English words of wordfreq (Robyn Speer et al., its data CC BY-SA
4.0; https://github.com/rspeer/wordfreq), letters a-z only, most frequent first, one a line.
wordfreq is needed only to rebuild the file (pip install wordfreq), never to read pages.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

N = 30_000
OUT = Path(__file__).resolve().parents[1] / "ocrkit" / "page" / "lexicon-en.txt"


def main() -> None:
    import wordfreq
    words = [w for w in wordfreq.top_n_list("en", int(N * 1.1)) if re.fullmatch("[a-z]+", w)]
    words = words[:N]
    OUT.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(words)} words (wordfreq {getattr(wordfreq, '__version__', '')})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
