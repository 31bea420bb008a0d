"""hOCR 1.2 (the hocr-spec), laid out as Tesseract writes it with `hocr_char_boxes=1`:

    ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word > ocrx_cinfo (one per character)

Boxes are `bbox x0 y0 x1 y1` (image pixels, x1/y1 exclusive, as Tesseract's); a line has
`baseline slope offset` relative to its box's bottom-left corner where the page model has
one; a word has `x_wconf` (0-100, an integer as Tesseract writes it) and `x_confs` (its
characters' confidences); each character is an `ocrx_cinfo` span with `x_bboxes` and
`x_conf`, its text the character, so a word's text is the text of its spans.
"""
from __future__ import annotations

from ocrkit.formats.common import blocks, box_of, element, software, xml_document

XHTML = "http://www.w3.org/1999/xhtml"
DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
           '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n')
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrx_cinfo ocrp_wconf"


def _bbox(box) -> str:
    return "bbox " + " ".join(map(str, box))


def _baseline(line) -> str:
    """`; baseline p1 p0`: the line y = p1 x + p0 with the box's bottom-left as origin."""
    if not line.baseline:
        return ""
    (ax, ay), (bx, by) = line.baseline
    if ax == bx:
        return ""
    left, bottom = line.box[0], line.box[3]
    slope = (by - ay) / (bx - ax)
    offset = (ay - bottom) - slope * (ax - left)
    return f"; baseline {round(slope, 3):g} {round(offset, 3):g}"


def _percent(confidence: float) -> str:
    return f"{round(100 * confidence, 2):g}"


def write(pages, images=None) -> str:
    name, version = software()
    html = element(None, "html", xmlns=XHTML, lang="en",
                   **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    head = element(html, "head")
    element(head, "title", text="")
    element(head, "meta", **{"http-equiv": "Content-Type"},
            content="text/html;charset=utf-8")
    element(head, "meta", name="ocr-system", content=f"{name} {version}")
    element(head, "meta", name="ocr-capabilities", content=CAPABILITIES)
    element(head, "meta", name="ocr-number-of-pages", content=len(pages))
    body = element(html, "body")
    for n, page in enumerate(pages, 1):
        div = element(body, "div", **{"class": "ocr_page"}, id=f"page_{n}",
                      title=f'image "{page.path}"; {_bbox((0, 0, *page.size))}; '
                            f"ppageno {n - 1}")
        line_id = word_id = 0
        for b, lines in enumerate(blocks(page), 1):
            box = _bbox(box_of(lines))
            area = element(div, "div", **{"class": "ocr_carea"},
                           id=f"block_{n}_{b}", title=box)
            par = element(area, "p", **{"class": "ocr_par"}, id=f"par_{n}_{b}",
                          title=box)
            for line in lines:
                line_id += 1
                span = element(par, "span", **{"class": "ocr_line"},
                               id=f"line_{n}_{line_id}",
                               title=_bbox(line.box) + _baseline(line))
                for w in line.words:
                    word_id += 1
                    confs = " ".join(_percent(c.confidence) for c in w.chars)
                    word = element(span, "span", **{"class": "ocrx_word"},
                                   id=f"word_{n}_{word_id}",
                                   title=f"{_bbox(w.box)}; x_wconf {int(100 * w.confidence)}"
                                         f"; x_confs {confs}")
                    for c in w.chars:
                        element(word, "span", text=c.label, **{"class": "ocrx_cinfo"},
                                title=f"x_bboxes {' '.join(map(str, c.box))}; "
                                      f"x_conf {_percent(c.confidence)}")
    # no self-closed <title/>: a browser reading the file as HTML would not end the title
    return xml_document(html, DOCTYPE, short_empty=False)
