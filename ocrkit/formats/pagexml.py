"""PAGE XML 2019-07-15 (PRImA), the format Transkribus and eScriptorium read.

    PcGts > Metadata (Creator, Created, LastChange, one MetadataItem per ProcessingStep)
          > Page > TextRegion > TextLine > Word > Glyph, each with Coords and TextEquiv

Coords are the box's four corners in image pixels, as Tesseract writes them; a TextLine has
its Baseline where the page model has one. Every level's TextEquiv carries its text and
confidence (`conf`, [0, 1]); a Glyph has one TextEquiv per top choice of the model, `index`
1 the one read. A step is a MetadataItem of type processingStep (name its id, value its
description) with its settings as Labels. PAGE holds one page per document.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ocrkit.errors import OcrkitError
from ocrkit.formats.common import blocks, box_of, conf, element, software, xml_document

PAGE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = PAGE + "/pagecontent.xsd"


def _coords(parent, box):
    x0, y0, x1, y1 = box
    element(parent, "Coords", points=f"{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}")


def _text(parent, text: str, confidence=None, index=None):
    equiv = element(parent, "TextEquiv", index=index,
                    conf=None if confidence is None else conf(confidence))
    element(equiv, "Unicode", text=text)


def write(pages, images=None) -> str:
    if len(pages) != 1:
        raise OcrkitError(f"PAGE XML holds one page per file, not {len(pages)}: "
                          "write each page on its own")
    page = pages[0]
    name, version = software()
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    root = element(None, "PcGts", xmlns=PAGE, **{f"{{{XSI}}}schemaLocation": f"{PAGE} {SCHEMA}"})
    meta = element(root, "Metadata")
    element(meta, "Creator", text=f"{name} {version}")
    element(meta, "Created", text=now)
    element(meta, "LastChange", text=now)
    for step in page.steps:
        item = element(meta, "MetadataItem", type="processingStep", name=step.id,
                       value=step.description)
        labels = element(item, "Labels", externalModel=name, externalId="settings",
                         comments=step.category)
        for key, value in sorted(step.settings.items()):
            element(labels, "Label", type=key, value=value)
    width, height = page.size
    pg = element(root, "Page", imageFilename=page.path, imageWidth=width,
                 imageHeight=height)
    line_id = word_id = 0
    for b, lines in enumerate(blocks(page), 1):
        region = element(pg, "TextRegion", id=f"region_{b}")
        _coords(region, box_of(lines))
        for line in lines:
            line_id += 1
            tl = element(region, "TextLine", id=f"line_{line_id}")
            _coords(tl, line.box)
            if line.baseline:
                element(tl, "Baseline",
                        points=" ".join(f"{round(x)},{round(y)}" for x, y in line.baseline))
            for w in line.words:
                word_id += 1
                word = element(tl, "Word", id=f"word_{word_id}")
                _coords(word, w.box)
                for k, c in enumerate(w.chars, 1):
                    glyph = element(word, "Glyph", id=f"glyph_{word_id}_{k}")
                    _coords(glyph, c.box)
                    # index 1 the label read (look-alike settling may have changed it)
                    choices = [(c.label, c.confidence)] + \
                        [(a, p) for a, p in c.alternatives if a != c.label]
                    for i, (label, p) in enumerate(choices, 1):
                        _text(glyph, label, p, index=i)
                _text(word, w.text, w.confidence)
            _text(tl, line.text, line.confidence)
        _text(region, "\n".join(line.text for line in lines))
    return xml_document(root)
