"""Stage 1, image: a path (or array) -> an upright grey page, float32 in [0, 1].

The one image reader of ocrkit: pages for `ocr`, character images for folder datasets and
`autoencode --reconstruct`. JPEG/PNG/TIFF/BMP/GIF, 8/16-bit, grey/RGB/RGBA/palette/CMYK; EXIF
orientation applied; a clear OcrkitError for anything unreadable.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrkit.data.normalize import to_grey
from ocrkit.errors import OcrkitError

MAX_PIXELS = 200e6          # larger images are refused before decoding (bounded memory)
DRAFT_SIDE = 4000           # JPEGs with both sides over twice this are decoded reduced
# PIL modes whose arrays are pixel values (and I;16 in any byte order); any other (palette
# "P", CMYK, YCbCr, ...) is converted to RGBA first
ARRAY_MODES = ("1", "L", "LA", "I", "I;16", "F", "RGB", "RGBA")


def load_image(path, with_size: bool = False):
    """Read an image file (JPEG/PNG/TIFF/BMP/GIF, 8/16-bit, grey/RGB/RGBA/palette/CMYK)
    upright, as grey (H, W) float32 in [0, 1].

    EXIF orientation (phone photos) is applied; a clear OcrkitError for anything unreadable.
    A JPEG with both sides over 2 * DRAFT_SIDE is decoded at 1/2, 1/4 or 1/8 of its size; with
    `with_size`, returns (grey, (width, height)) where (width, height) is the upright size of
    the image in the file, which read_page(..., size=) reports boxes in.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    path = Path(path)
    if path.is_dir():
        raise OcrkitError(f"{path}: is a folder, not an image")
    Image.MAX_IMAGE_PIXELS = None           # ocrkit bounds the size itself, below
    try:
        with Image.open(path) as im:
            full = im.size
            if im.format == "JPEG":
                im.draft("L", (DRAFT_SIDE, DRAFT_SIDE))  # a huge JPEG: 1/2, 1/4 or 1/8
            if im.width * im.height > MAX_PIXELS:
                raise OcrkitError(f"{path}: {im.width}x{im.height} is too large "
                                  f"(at most {MAX_PIXELS / 1e6:.0f} megapixels; downscale it)")
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):    # EXIF turns it sideways
                full = full[::-1]
            im = ImageOps.exif_transpose(im)
            if im.mode not in ARRAY_MODES and not im.mode.startswith("I;16"):
                im = im.convert("RGBA")     # palette, CMYK, YCbCr, ...: colours, not indices
            array = np.asarray(im)
    except FileNotFoundError:
        raise OcrkitError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise OcrkitError(f"{path}: not an image (or a format ocrkit cannot read)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise OcrkitError(f"{path}: unreadable or truncated image ({exc})") from None
    if array.ndim == 0 or min(array.shape[:2]) < 8:
        raise OcrkitError(f"{path}: image of {array.shape[1] if array.ndim > 1 else 0}x"
                          f"{array.shape[0]} pixels is too small to hold text")
    if array.dtype == np.int32 or array.dtype == np.uint16 or array.dtype == np.int16:
        array = array.astype(np.float32) / (65535.0 if array.max() > 255 else 255.0)
    grey = to_grey(array)
    return (grey, (int(full[0]), int(full[1]))) if with_size else grey


