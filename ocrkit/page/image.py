"""Stage 1, image: a path (or array) -> an upright image array, bounded in size.

The one image reader of ocrkit: pages for `ocr`, character images for folder datasets and
`autoencode --reconstruct`. JPEG/PNG/TIFF/BMP/GIF/WebP, 8/16-bit, grey/RGB/RGBA/palette/CMYK;
EXIF orientation applied; a clear OcrkitError for anything unreadable.

    grey = load_image("letter.png")                  # float32 (H, W) in [0, 1], luminance
    image, size = load_page("photo.jpg")             # float32 (h, w) or (h, w, 3), reduced

Bounds: the pixel count is read from the file's header and checked against MAX_PIXELS before
anything is decoded. A page is decoded at most DECODE_PIXELS large: a JPEG by its decoder's
own 1/2, 1/4, 1/8 scaling (cheap), other formats reduced by whole factors right after
decoding; `size` stays the file's upright (width, height), the pixels boxes are reported in.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrkit.data.normalize import to_grey
from ocrkit.errors import OcrkitError

MAX_PIXELS = 100e6          # larger images are refused from their header, before decoding
DECODE_PIXELS = 9e6         # pages are decoded (reduced) to at most this many pixels
MIN_SIDE = 8                # smaller images cannot hold text
# PIL modes whose arrays are pixel values; any other (palette "P", CMYK, YCbCr, LAB, HSV,
# I;16 variants, ...) is converted first
ARRAY_MODES = ("1", "L", "LA", "RGB", "RGBA")


def _open(path, max_pixels: float | None):
    """Decode `path` upright -> (uint8 array (H, W) / (H, W, 3|4) / (H, W, 2), upright file
    size (w, h)); reduced to at most `max_pixels` when given."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    path = Path(path)
    if path.is_dir():
        raise OcrkitError(f"{path}: is a folder, not an image")
    if path.exists() and not path.is_file():
        raise OcrkitError(f"{path}: not a regular file")
    Image.MAX_IMAGE_PIXELS = None     # ocrkit checks the header size itself, just below
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise OcrkitError(f"{path}: {w}x{h} is too large (at most "
                                  f"{MAX_PIXELS / 1e6:.0f} megapixels; downscale it)")
            if min(w, h) < MIN_SIDE:
                raise OcrkitError(f"{path}: image of {w}x{h} pixels is too small to hold text")
            full = (w, h)
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):    # EXIF turns it sideways
                full = (h, w)
            if im.format == "JPEG" and max_pixels is not None and w * h > max_pixels:
                # the decoder's own 1/2, 1/4, 1/8: the least reduction that fits
                k = 2
                while k < 8 and (w / k) * (h / k) > max_pixels:
                    k *= 2
                im.draft(None, (w // k, h // k))
            if im.mode not in ARRAY_MODES:
                if im.mode.startswith(("I", "F")):                      # 16/32-bit grey
                    a = np.asarray(im, dtype=np.float64)
                    top = 65535.0 if a.max(initial=0) > 255 else 255.0
                    im = Image.fromarray(np.clip(a / top * 255, 0, 255).astype(np.uint8))
                else:
                    im = im.convert("RGBA")    # palette, CMYK, ...: colours, not indices
            if im.mode == "1":
                im = im.convert("L")
            reduce = int(np.ceil(np.sqrt(im.width * im.height / max_pixels))) \
                if max_pixels is not None else 1
            if reduce > 1:
                im = im.reduce(reduce)
            im = ImageOps.exif_transpose(im)
            array = np.asarray(im)
    except OcrkitError:
        raise
    except FileNotFoundError:
        raise OcrkitError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise OcrkitError(f"{path}: not an image (or a format ocrkit cannot read)") from None
    except Image.DecompressionBombError:
        raise OcrkitError(f"{path}: too large (at most {MAX_PIXELS / 1e6:.0f} megapixels)") \
            from None
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError) as exc:
        raise OcrkitError(f"{path}: unreadable or truncated image ({exc})") from None
    if array.ndim < 2 or min(array.shape[:2]) < 1:
        raise OcrkitError(f"{path}: holds no pixels")
    return array, (int(full[0]), int(full[1]))


def load_image(path, with_size: bool = False):
    """An image file upright as grey (H, W) float32 in [0, 1] (luminance), at full size.

    With `with_size`, returns (grey, (width, height)) where (width, height) is the upright
    size of the image in the file."""
    array, size = _open(path, None)
    grey = to_grey(array)
    return (grey, size) if with_size else grey


def load_page(path) -> tuple[np.ndarray, tuple]:
    """A page image for the pipeline: uint8 (h, w) grey or (h, w, 3) colour (alpha
    composited on white), reduced to at most DECODE_PIXELS; and the file's upright
    (width, height)."""
    array, size = _open(path, DECODE_PIXELS)
    return as_page_array(array), size


def as_page_array(array) -> np.ndarray:
    """Any image array (uint8/uint16/float/bool; grey, grey+alpha, RGB, RGBA; floats in
    [0, 1] or [0, 255]) -> uint8 (h, w) or (h, w, 3), alpha composited on white. ValueError
    for anything that is not an image (wrong dimensions, no pixels, non-finite values)."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)) or a.size == 0:
        raise ValueError(f"expected an image (H, W), (H, W, 3) or (H, W, 4), got shape "
                         f"{a.shape}")
    if min(a.shape[:2]) < MIN_SIDE:
        raise ValueError(f"an image of {a.shape[1]}x{a.shape[0]} pixels is too small to hold "
                         "text")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise ValueError(f"an image of {a.shape[1]}x{a.shape[0]} pixels is too large (at most "
                         f"{MAX_PIXELS / 1e6:.0f} megapixels)")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.integer):
        top = 255.0 if a.max(initial=0) <= 255 else 65535.0
        a = np.clip(a.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("the image holds NaN or infinite values")
        top = 1.0 if a.max(initial=0) <= 1.0 else 255.0
        a = np.clip(a.astype(np.float32) * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"an image array of {a.dtype} cannot be read")
    if a.ndim == 3 and a.shape[2] in (2, 4):                  # composite the alpha on white
        alpha = a[..., -1:].astype(np.uint16)
        a = ((a[..., :-1] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    return np.ascontiguousarray(a)
