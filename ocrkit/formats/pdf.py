"""A searchable PDF: each page's image with an invisible text layer, every word placed on
its own box, so a viewer's search finds the words and selecting text picks them where they
are written.

    write([page], images=["page.jpg"])      # -> bytes; images: a path or an array per page

Drawn with reportlab (docs/ARCHITECTURE.md says why), as ocrmypdf's hocrtransform does it:
text render mode 3 (invisible), Helvetica (its metrics place a word's box exactly: the font
size makes ascent + descent the box's height, the baseline sits the descent above its
bottom, a horizontal scale stretches the word to the box's width), and a space stretched
over each gap so viewers see the word breaks. The text is written line by line in reading
order, so `pdftotext -raw` and copy-and-paste give the page's text. A JPEG file that needs
no EXIF turn is embedded as it is (no re-encoding); other files and arrays are embedded
upright, JPEG-compressed if they came as JPEG and losslessly otherwise. The page size
follows the image's resolution (its dpi where the file records one, else 300 dpi).
"""
from __future__ import annotations

import io
from pathlib import Path

from ocrkit.errors import OcrkitError

FONT = "Helvetica"
DEFAULT_DPI = 300.0
MAX_SIDE = 14400.0          # points: the largest page side PDF viewers accept (200 inches)


def _image(source):
    """(what reportlab draws, dots per inch or None) for a path or an array."""
    from PIL import Image, ImageOps
    from reportlab.lib.utils import ImageReader
    if isinstance(source, (str, Path)):
        try:
            with Image.open(source) as im:
                dpi = im.info.get("dpi", (None,))[0]
                if im.format == "JPEG" and im.getexif().get(0x0112, 1) == 1:
                    return str(source), dpi                    # embedded as it is
                jpeg = im.format == "JPEG"
                im = ImageOps.exif_transpose(im)
                im = im.convert("RGB" if im.mode not in ("1", "L", "I;16", "I", "F") else "L")
        except OSError as exc:
            raise OcrkitError(f"{source}: cannot read the image for the PDF ({exc})") from None
        if jpeg:
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=92)
            buf.seek(0)
            return ImageReader(buf), dpi
        return ImageReader(im), dpi
    import numpy as np
    a = np.asarray(source)
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)
    return ImageReader(Image.fromarray(a)), None


def _scale(page, dpi) -> float:
    """Points per image pixel."""
    dpi = float(dpi) if dpi and 50 <= float(dpi) <= 4800 else DEFAULT_DPI
    return min(72.0 / dpi, MAX_SIDE / max(page.size))


def _text_layer(canvas, page, scale: float) -> None:
    from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
    face = getFont(FONT).face
    ascent, descent = face.ascent / 1000, face.descent / 1000      # descent < 0
    height = page.size[1]
    text = canvas.beginText()
    text.setTextRenderMode(3)
    for line in page.lines:
        for k, w in enumerate(line.words):
            x0, y0, x1, y1 = w.box
            size = (y1 - y0) * scale / (ascent - descent)
            base = (height - y1) * scale - descent * size
            label = w.text.encode("cp1252", "replace").decode("cp1252")   # Helvetica's set
            text.setFont(FONT, size)
            text.setTextTransform(1, 0, 0, 1, x0 * scale, base)
            text.setHorizScale(100 * (x1 - x0) * scale / stringWidth(label, FONT, size))
            text.textOut(label)
            if k + 1 < len(line.words):                # a space over the gap to the next word
                gap = max(line.words[k + 1].box[0] - x1, 1)
                text.setTextTransform(1, 0, 0, 1, x1 * scale, base)
                text.setHorizScale(100 * gap * scale / stringWidth(" ", FONT, size))
                text.textOut(" ")
    canvas.drawText(text)


def write(pages, images=None, dpi=None) -> bytes:
    """One PDF page per Page: `images[i]` drawn over the page (a path or an array, stretched
    over page.size), the words on top, invisible. `dpi` overrides the image's resolution."""
    if images is None or len(images) != len(pages):
        raise OcrkitError("a searchable PDF needs each page's image")
    try:
        from reportlab.pdfgen.canvas import Canvas
    except ImportError:
        raise OcrkitError("the pdf format needs reportlab: pip install 'ocrkit[pdf]'") from None
    from reportlab import rl_config

    from ocrkit.formats.common import software
    out = io.BytesIO()
    name, version = software()
    ascii85 = rl_config.useA85
    rl_config.useA85 = 0            # binary streams: ASCII85 would make the images 25% larger
    try:
        canvas = Canvas(out, pageCompression=1)
        canvas.setCreator(f"{name} {version}")
        canvas.setProducer(f"{name} {version}")
        canvas.setAuthor("")
        canvas.setSubject("")
        canvas.setTitle(", ".join(Path(p.path).name for p in pages if p.path))
        for page, source in zip(pages, images):
            drawable, file_dpi = _image(source)
            scale = _scale(page, dpi or file_dpi)
            width, height = page.size[0] * scale, page.size[1] * scale
            canvas.setPageSize((width, height))
            canvas.drawImage(drawable, 0, 0, width, height)
            _text_layer(canvas, page, scale)
            canvas.showPage()
        canvas.save()
    finally:
        rl_config.useA85 = ascii85
    return out.getvalue()
