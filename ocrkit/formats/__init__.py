"""Every output format of read pages, one module each, all through the one page model
(`ocrkit.page.model`: Page -> Line -> Word -> Char, boxes (x0, y0, x1, y1) in image pixels).

    from ocrkit.formats import FORMATS
    FORMATS["alto"].write([page])                       # -> str: one ALTO document
    FORMATS["pdf"].write([page], images=["page.jpg"])   # -> bytes: image + invisible text
    FORMATS["hocr"].extension                           # ".hocr"

A writer takes a list of Pages and gives one complete document holding them (str, or bytes
where `binary`): for one file per page, pass `[page]`. `images` (one per page, a path or an
array) is used by the formats that draw the page (`needs_image`: pdf) and ignored by the rest.
A `one_page` format (PAGE XML) holds exactly one page per document.

| name  | module       | what |
|-------|--------------|------|
| text  | text.py      | one line per written line |
| json  | json.py      | lines -> words -> chars, boxes, confidences, alternatives, steps |
| tsv   | tsv.py       | Tesseract's TSV: levels 1-5, its 12 columns |
| hocr  | hocr.py      | hOCR 1.2 with ocrx_cinfo character boxes and confidences |
| alto  | alto.py      | ALTO 4.4 with Glyphs, confidences and processing steps |
| page  | pagexml.py   | PAGE XML 2019-07-15 with Glyphs, confidences and processing steps |
| pdf   | pdf.py       | the page image with an invisible text layer on each word's box |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ocrkit.formats import alto, hocr, json, pagexml, pdf, text, tsv


@dataclass(frozen=True)
class Format:
    """One output format: `write(pages, images=None)` -> str (bytes if `binary`)."""

    name: str
    extension: str
    write: Callable
    binary: bool = False
    needs_image: bool = False
    one_page: bool = False
    description: str = ""


FORMATS = {f.name: f for f in (
    Format("text", ".txt", text.write, description="plain text"),
    Format("json", ".json", json.write, description="ocrkit's JSON"),
    Format("tsv", ".tsv", tsv.write, description="Tesseract's TSV"),
    Format("hocr", ".hocr", hocr.write, description="hOCR 1.2"),
    Format("alto", ".alto.xml", alto.write, description="ALTO 4.4"),
    Format("page", ".page.xml", pagexml.write, one_page=True, description="PAGE XML 2019"),
    Format("pdf", ".pdf", pdf.write, binary=True, needs_image=True,
           description="searchable PDF"),
)}

__all__ = ["FORMATS", "Format"]
