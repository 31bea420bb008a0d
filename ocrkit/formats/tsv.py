"""Tesseract's TSV (`tesseract image - tsv`), so tools that parse it read ocrkit's output.

Its 12 columns, a header row, then per page: level 1 page, 2 block, 3 paragraph, 4 line,
5 word. Numbers restart below each parent (block_num per page, par_num per block, line_num
per paragraph, word_num per line) and are 0 in the columns below a row's own level; the page
row's box is the whole image. conf is 0-100 with six decimals for words (as Tesseract 5
prints it) and -1 for the other levels, whose text is empty. Boxes: left, top, width, height
in image pixels. Lines are one block and one paragraph a page (ocrkit's page model has no
blocks; common.blocks).
"""
from __future__ import annotations

from ocrkit.formats.common import blocks, box_of

COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num",
           "left", "top", "width", "height", "conf", "text")
HEADER = "\t".join(COLUMNS)


def rows(page, page_num: int = 1) -> list[str]:
    """One page's rows (no header); `page_num` counts from 1."""
    def row(level, block, par, line, word, box, conf="-1", text=""):
        x0, y0, x1, y1 = box
        return "\t".join(map(str, (level, page_num, block, par, line, word,
                                   x0, y0, x1 - x0, y1 - y0, conf, text)))

    out = [row(1, 0, 0, 0, 0, (0, 0, *page.size))]
    for b, lines in enumerate(blocks(page), 1):
        box = box_of(lines)
        out.append(row(2, b, 0, 0, 0, box))
        out.append(row(3, b, 1, 0, 0, box))
        for i, line in enumerate(lines, 1):
            out.append(row(4, b, 1, i, 0, line.box))
            for j, w in enumerate(line.words, 1):
                out.append(row(5, b, 1, i, j, w.box, f"{100 * w.confidence:.6f}", w.text))
    return out


def write(pages, images=None) -> str:
    lines = [HEADER]
    for n, page in enumerate(pages, 1):
        lines += rows(page, n)
    return "\n".join(lines) + "\n"
