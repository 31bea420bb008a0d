"""A read Page as text, JSON, TSV (Tesseract's columns) or hOCR."""
from __future__ import annotations

import json
from html import escape


def as_text(page) -> str:
    return page.text


def as_dict(page) -> dict:
    """lines -> words -> characters, with boxes (x0, y0, x1, y1) in image pixels."""
    return {
        "file": page.path, "width": page.size[0], "height": page.size[1], "text": page.text,
        "lines": [{
            "text": line.text, "box": list(line.box),
            "words": [{
                "text": w.text, "box": list(w.box), "confidence": round(w.confidence, 4),
                "chars": [{"label": c.label, "box": list(c.box),
                           "confidence": round(c.confidence, 4),
                           "alternatives": [[a, round(p, 4)] for a, p in c.alternatives]}
                          for c in w.chars]}
                for w in line.words]}
            for line in page.lines],
    }


def as_json(pages) -> str:
    return json.dumps([as_dict(p) for p in pages], indent=2)


TSV_HEADER = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\t"
              "height\tconf\ttext")


def as_tsv(page, page_num: int = 1) -> list[str]:
    """Tesseract-style rows: level 1 page, 4 line, 5 word; conf 0-100 (-1 above words)."""
    def row(level, line, word, box, conf, text):
        x0, y0, x1, y1 = box
        return (f"{level}\t{page_num}\t1\t1\t{line}\t{word}\t{x0}\t{y0}\t{x1 - x0}\t{y1 - y0}\t"
                f"{conf}\t{text}")
    rows = [row(1, 0, 0, (0, 0, *page.size), -1, "")]
    for i, line in enumerate(page.lines, 1):
        rows.append(row(4, i, 0, line.box, -1, ""))
        for j, w in enumerate(line.words, 1):
            rows.append(row(5, i, j, w.box, round(100 * w.confidence, 2), w.text))
    return rows


def as_hocr(pages) -> str:
    body = []
    for n, page in enumerate(pages, 1):
        body.append(f"  <div class='ocr_page' id='page_{n}' title='image \"{escape(page.path)}\"; "
                    f"bbox 0 0 {page.size[0]} {page.size[1]}; ppageno {n - 1}'>")
        for i, line in enumerate(page.lines, 1):
            body.append(f"   <span class='ocr_line' id='line_{n}_{i}' "
                        f"title='bbox {' '.join(map(str, line.box))}'>")
            for j, w in enumerate(line.words, 1):
                body.append(f"    <span class='ocrx_word' id='word_{n}_{i}_{j}' title='bbox "
                            f"{' '.join(map(str, w.box))}; x_wconf "
                            f"{round(100 * w.confidence)}'>{escape(w.text)}</span>")
            body.append("   </span>")
        body.append("  </div>")
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0 Transitional//EN' "
            "'http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd'>\n"
            "<html xmlns='http://www.w3.org/1999/xhtml' xml:lang='en' lang='en'>\n <head>\n"
            "  <title></title>\n  <meta http-equiv='Content-Type' content='text/html;"
            "charset=utf-8'/>\n  <meta name='ocr-system' content='ocrkit'/>\n"
            "  <meta name='ocr-capabilities' content='ocr_page ocr_line ocrx_word'/>\n"
            " </head>\n <body>\n" + "\n".join(body) + "\n </body>\n</html>\n")
