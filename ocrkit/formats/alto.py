"""ALTO 4.4 (Library of Congress), the format digital-library viewers read.

    alto > Description (pixel units, the image, one Processing per ProcessingStep)
         > Layout > Page > PrintSpace > TextBlock > TextLine > String (+ SP) > Glyph > Variant

Boxes as HPOS/VPOS/WIDTH/HEIGHT in image pixels. String WC and Glyph GC are confidences in
[0, 1]; String CC gives each character's as ALTO's 0 (sure) - 9 (unsure) digits; a Glyph's
Variants are the model's other top choices with their probabilities (VC). TextLine BASELINE
where the page model has one. Several pages are several Page elements (PHYSICAL_IMG_NR 1,
2, ...): sourceImageInformation names the image in `fileName` for one page and in one
`fileIdentifier` per page (in order) for several. ProcessingStep categories map onto ALTO's:
preprocessing -> preOperation, processing -> contentGeneration, postprocessing ->
postOperation, anything else -> other.
"""
from __future__ import annotations

from ocrkit.formats.common import blocks, box_of, conf, element, settings_text, software, \
    xml_document

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
CATEGORIES = {"preprocessing": "preOperation", "processing": "contentGeneration",
              "postprocessing": "postOperation"}


def _place(box) -> dict:
    x0, y0, x1, y1 = box
    return {"HPOS": x0, "VPOS": y0, "WIDTH": x1 - x0, "HEIGHT": y1 - y0}


def _processing(description, steps, prefix: str) -> list[str]:
    """A Processing element per step; returns their IDs."""
    name, version = software()
    ids = []
    for k, step in enumerate(steps, 1):
        ids.append(f"{prefix}_{k}")
        proc = element(description, "Processing", ID=ids[-1])
        element(proc, "processingCategory",
                text=CATEGORIES.get(step.category, "other"))
        element(proc, "processingStepDescription", text=f"{step.id}: {step.description}")
        element(proc, "processingStepSettings", text=settings_text(step))
        tool = element(proc, "processingSoftware")
        element(tool, "softwareName", text=name)
        element(tool, "softwareVersion", text=version)
    return ids


def _string(parent, w, wid: str):
    labels = [c.label for c in w.chars]
    string = element(parent, "String", ID=wid, **_place(w.box), CONTENT=w.text,
                     WC=conf(w.confidence),
                     CC=" ".join(str(round(9 * (1 - c.confidence))) for c in w.chars))
    if all(len(label) == 1 for label in labels):   # ALTO's Glyph holds exactly one character
        for k, c in enumerate(w.chars, 1):
            glyph = element(string, "Glyph", ID=f"{wid}_g{k}", CONTENT=c.label,
                            GC=conf(c.confidence), **_place(c.box))
            for label, p in c.alternatives:
                if label != c.label and 1 <= len(label) <= 3:   # Variant: up to 3 characters
                    element(glyph, "Variant", CONTENT=label, VC=conf(p))
    return string


def write(pages, images=None) -> str:
    name, version = software()
    root = element(None, "alto", xmlns=ALTO, SCHEMAVERSION="4.4",
                   **{f"{{{XSI}}}schemaLocation": f"{ALTO} {SCHEMA}"})
    description = element(root, "Description")
    element(description, "MeasurementUnit", text="pixel")
    source = element(description, "sourceImageInformation")
    if len(pages) == 1:
        element(source, "fileName", text=pages[0].path)
    else:
        for n, page in enumerate(pages, 1):
            element(source, "fileIdentifier", text=page.path,
                    fileIdentifierLocation=f"page_{n}")
    steps = [_processing(description, page.steps, f"proc_{n}")
             for n, page in enumerate(pages, 1)]
    if not any(steps):          # no steps recorded: still say which software made it
        proc = element(description, "Processing", ID="proc_0")
        element(proc, "processingCategory", text="contentGeneration")
        tool = element(proc, "processingSoftware")
        element(tool, "softwareName", text=name)
        element(tool, "softwareVersion", text=version)
        steps = [["proc_0"]] * len(pages)
    layout = element(root, "Layout")
    for n, (page, refs) in enumerate(zip(pages, steps), 1):
        width, height = page.size
        pg = element(layout, "Page", ID=f"page_{n}", PHYSICAL_IMG_NR=n, WIDTH=width,
                     HEIGHT=height, PROCESSINGREFS=" ".join(refs) or None)
        space = element(pg, "PrintSpace", **_place((0, 0, width, height)))
        line_id = word_id = 0
        for b, lines in enumerate(blocks(page), 1):
            block = element(space, "TextBlock", ID=f"block_{n}_{b}",
                            **_place(box_of(lines)))
            for line in lines:
                line_id += 1
                baseline = " ".join(f"{x:g},{y:g}" for x, y in line.baseline) \
                    if line.baseline else None
                tl = element(block, "TextLine", ID=f"line_{n}_{line_id}",
                             **_place(line.box), BASELINE=baseline)
                for k, w in enumerate(line.words):
                    word_id += 1
                    _string(tl, w, f"string_{n}_{word_id}")
                    if k + 1 < len(line.words):      # the space up to the next word
                        x0, y0 = w.box[2], min(w.box[1], line.words[k + 1].box[1])
                        x1 = max(line.words[k + 1].box[0], x0)
                        element(tl, "SP", HPOS=x0, VPOS=y0, WIDTH=x1 - x0)
    return xml_document(root)
