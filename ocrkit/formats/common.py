"""What several formats share: the block rule, the software's name, XML serialisation."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET


def software() -> tuple[str, str]:
    from ocrkit import __version__
    return "ocrkit", __version__


def blocks(page) -> list[list]:
    """A page's lines grouped into blocks (regions, paragraphs), in reading order. The page
    model has no blocks, so today a page with text is one block of all its lines."""
    return [list(page.lines)] if page.lines else []


def box_of(items) -> tuple:
    """The box holding every item's box (lines of a block, say): the page model's union."""
    from ocrkit.page.model import union       # here: `ocrkit --help` imports no numpy
    return union([item.box for item in items])


def settings_text(step) -> str:
    """A ProcessingStep's settings as one line of JSON (keys sorted)."""
    return json.dumps(step.settings, sort_keys=True, default=str)


def element(parent, tag: str, text: str | None = None, **attrib) -> ET.Element:
    """A child `tag` of `parent`, or a root when parent is None (give it its namespace as
    `xmlns=...`: the children are then in it). Attributes that are None are left out, the
    others written with str(); `{namespace}name` attributes get their usual prefix."""
    attrs = {k: str(v) for k, v in attrib.items() if v is not None}
    node = ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def xml_document(root: ET.Element, prologue: str = "", short_empty: bool = True) -> str:
    """`root` as an indented UTF-8 XML document (`prologue`, e.g. a DOCTYPE, before it)."""
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=short_empty)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{prologue}{body}\n'


def conf(value: float) -> str:
    """A confidence in [0, 1] to 4 decimals, as ALTO and PAGE write it."""
    return f"{min(max(float(value), 0.0), 1.0):.4f}"
