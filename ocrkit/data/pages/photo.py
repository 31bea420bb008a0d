"""The sheet as a phone photographs it: paper and ink, the sheet turned or lying on a table
among other things, then light, lens and sensor.

    image, scene = photograph(ink_map, layout, opts, rng, extra, colour, ink, jpeg_quality)

The photo is drawn in its own frame, one affine map (a turn by opts.skew degrees and a shift)
from the sheet: every pixel gets its sheet coordinates (u, v), paper texture is drawn in the
frame, rules, the margin line, the sheet's edges and holes are formulas of (u, v), and only the
hand's ink and the printed boxes and labels are resampled (scipy.ndimage.affine_transform,
linear). On a table (opts.clutter): wood, a dark or grey desk or cloth, the sheet's shadow, paper
scraps, a pen or a dark object between the frame's edges and the sheet, a broad shadow across
the scene. Then uneven lighting, white balance, blur, sensor noise and JPEG artefacts. Every
step is whole-array numpy over the frame, so a page costs time linear in its pixels. `scene`
says where things went: the map (matrix, offset: image (x, y) = matrix @ sheet (x, y) +
offset), the frame's size, the sheet's corners and the clutter's outlines in image pixels.
"""
from __future__ import annotations

import io

import numpy as np
from scipy import ndimage

from ocrkit.data.pages.paper import print_layers, sheet_alpha

INKS = {"black": (0.10, 0.10, 0.13), "blue": (0.10, 0.16, 0.42), "pencil": (0.33, 0.33, 0.35)}
TABLES = ("wood", "dark", "grey", "cloth")


def smooth_noise(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-std noise smoothed over `sigma` pixels (made at low resolution)."""
    step = max(1, int(sigma // 2))
    small = rng.normal(0, 1, (shape[0] // step + 2, shape[1] // step + 2)).astype(np.float32)
    small = ndimage.gaussian_filter(small, sigma / step)
    big = ndimage.zoom(small, step, order=1)[:shape[0], :shape[1]] if step > 1 else \
        small[:shape[0], :shape[1]]
    return (big - big.mean()) / (big.std() + 1e-6)


def photograph(ink_map: np.ndarray, layout: dict, opts, rng: np.random.Generator,
               extra: np.random.Generator, colour: bool, ink: str | None,
               jpeg_quality: int | None) -> tuple[np.ndarray, dict]:
    """The hand's ink (H, W) in [0, 1] on the sheet `layout` describes -> (uint8 photo: RGB
    (h, w, 3) or grey (h, w), scene).

    Upper- or mixed-case writing on plain paper is drawn in float64, exactly as the first pages
    were (their images are kept byte for byte); every other page in float32, twice as fast."""
    f = np.float64 if opts.plain else np.float32
    scene = frame(layout["shape"], opts, extra)
    h, w = scene["shape"]
    u, v = sheet_coordinates(scene)
    identity = scene["identity"]
    warp = (lambda a: a) if identity else (lambda a: _warp(a, scene))   # noqa: E731
    paper = (np.array([0.93, 0.92, 0.88]) + rng.normal(0, 0.02, 3)).astype(f)
    ink_rgb = np.array(INKS[ink if ink else rng.choice(list(INKS), p=[0.55, 0.3, 0.15])], f)
    texture = 0.012 * smooth_noise((h, w), 6, rng) + 0.006 * _normal(rng, 1, (h, w), f)
    a = warp(ink_map)[..., None]
    sheet = paper + texture[..., None]
    for alpha, rgb in print_layers(layout, u, v, warp, extra):           # printed, under ink
        al = alpha[..., None]
        sheet = sheet * (1 - al) + np.asarray(rgb, f) * al
    img = sheet * (1 - a) + ink_rgb * a                                   # (h, w, 3)
    on_sheet = sheet_alpha(layout, u, v, opts.clutter, lambda p: to_image(scene, p))
    if on_sheet is not None:
        if opts.clutter:
            back = _table((h, w), extra)
            back *= 1 - extra.uniform(0.3, 0.6) * _shadow(on_sheet, extra)[..., None]
            scene["clutter"] = _clutter(back, np.concatenate([np.min(scene["sheet"], 0),
                                                              np.max(scene["sheet"], 0)]), extra)
        else:                                             # what shows through punch holes
            back = np.full((h, w, 3), extra.uniform(0.15, 0.45), np.float32) \
                * np.array([1.0, 0.95, 0.9], np.float32)
        s = on_sheet[..., None]
        img = back * (1 - s) + img * s
    # uneven lighting: a tilted plane, a vignette and a soft shadow
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h, w), xx / max(h, w)
    g = rng.normal(0, 0.12, 2).astype(f)
    light = 1 + g[0] * (xx - xx.mean()) + g[1] * (yy - yy.mean())
    r2 = ((xx - xx.mean()) ** 2 + (yy - yy.mean()) ** 2) / max(xx.max() ** 2 + yy.max() ** 2, 1e-6)
    light -= f(rng.uniform(0, 0.25)) * r2
    light += 0.05 * smooth_noise((h, w), max(h, w) / 6, rng)
    if opts.clutter and extra.random() < 0.5:
        light = light * _cast_shadow((h, w), extra)
    img = img * np.clip(light, 0.5, 1.2)[..., None]
    img = img * (1 + rng.normal(0, 0.02, 3)).astype(f)                   # white balance
    blur = rng.uniform(0.4, 1.2)
    img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img += _normal(rng, rng.uniform(0.005, 0.02), img.shape, f)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if not colour:
        out = np.clip(out @ np.array([0.2125, 0.7154, 0.0721]) + 0.5, 0, 255).astype(np.uint8)
    if jpeg_quality == -1:
        jpeg_quality = int(rng.integers(55, 91))
    if jpeg_quality:
        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=int(jpeg_quality))
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    return out, scene


def _normal(rng, scale: float, shape, f) -> np.ndarray:
    """Gaussian noise: float64 as the first pages drew it, else drawn in float32 (faster)."""
    if f is np.float64:
        return rng.normal(0, scale, shape)
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)


def to_image(scene: dict, points) -> np.ndarray:
    """Sheet (x, y) points (N, 2) -> image (x, y) points."""
    p = np.asarray(points, float).reshape(-1, 2)
    return p @ scene["matrix"].T + scene["offset"]


def to_sheet(scene: dict, points) -> np.ndarray:
    """Image (x, y) points (N, 2) -> sheet (x, y) points."""
    p = np.asarray(points, float).reshape(-1, 2)
    return (p - scene["offset"]) @ np.linalg.inv(scene["matrix"]).T


# -- the frame ------------------------------------------------------------------------------------

def frame(sheet_shape, opts, extra) -> dict:
    """Where the sheet (H, W) goes in the photo: turned by opts.skew degrees (counter-clockwise
    as seen) about its centre, filling the frame (the frame is the turned sheet's bounding box,
    paper showing everywhere) or, with opts.clutter, lying on a table that shows around it."""
    h, w = sheet_shape
    theta = np.radians(opts.skew)
    c, s = np.cos(theta), np.sin(theta)
    matrix = np.array([[c, s], [-s, c]])                  # sheet (dx, dy) -> image (dx, dy)
    centre = np.array([w / 2, h / 2])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    turned = (corners - centre) @ matrix.T
    lo, hi = turned.min(0), turned.max(0)
    margin = np.zeros(4)
    if opts.clutter:                                      # table at left, top, right, bottom
        margin = np.round(extra.uniform(0.03, 0.12, 4) * max(hi - lo))
    size = np.ceil(hi - lo + margin[:2] + margin[2:] - 1e-6).astype(int)
    offset = margin[:2] - lo - matrix @ centre
    if not theta:                                         # a shift by whole pixels
        offset = np.round(offset)
        matrix = np.eye(2)
    scene = {"matrix": matrix, "offset": offset, "shape": (int(size[1]), int(size[0])),
             "identity": not theta and not offset.any() and (size == [w, h]).all(),
             "clutter": []}
    scene["sheet"] = [[round(float(x), 1), round(float(y), 1)] for x, y in to_image(scene, corners)]
    return scene


def sheet_coordinates(scene: dict) -> tuple[np.ndarray, np.ndarray]:
    """(u, v): the sheet (x, y) of every image pixel, float32, as a row and a column when the
    sheet is the image, else as (h, w) arrays."""
    h, w = scene["shape"]
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    if np.array_equal(scene["matrix"], np.eye(2)):
        ox, oy = scene["offset"].astype(np.float32)
        return xs - ox, ys - oy
    inv = np.linalg.inv(scene["matrix"]).astype(np.float32)
    ox, oy = scene["offset"].astype(np.float32)
    u = inv[0, 0] * (xs - ox) + inv[0, 1] * (ys - oy)
    v = inv[1, 0] * (xs - ox) + inv[1, 1] * (ys - oy)
    return u, v


def _warp(a: np.ndarray, scene: dict) -> np.ndarray:
    """A sheet array (H, W) in the frame: image pixel p shows sheet point M^-1 (p - offset),
    linearly interpolated, 0 off the sheet. A shift by whole pixels is a copy."""
    hf, wf = scene["shape"]
    matrix, offset = scene["matrix"], scene["offset"]
    if np.array_equal(matrix, np.eye(2)):
        ox, oy = int(offset[0]), int(offset[1])
        out = np.zeros((hf, wf), a.dtype)
        h, w = a.shape
        ys, xs = slice(max(0, oy), min(hf, oy + h)), slice(max(0, ox), min(wf, ox + w))
        out[ys, xs] = a[ys.start - oy:ys.stop - oy, xs.start - ox:xs.stop - ox]
        return out
    inv = np.linalg.inv(matrix)                           # scipy works in (row, col)
    return ndimage.affine_transform(a, inv[::-1, ::-1], offset=-(inv @ offset)[::-1],
                                    output_shape=(hf, wf), order=1, mode="constant", cval=0.0)


def _shadow(alpha: np.ndarray, extra) -> np.ndarray:
    """The sheet's soft shadow on the table: its mask blurred and shifted (made at 1/4 size)."""
    hf, wf = alpha.shape
    small = alpha[::4, ::4]
    sigma = extra.uniform(0.004, 0.015) * max(hf, wf) / 4
    small = ndimage.gaussian_filter(small, sigma)
    shift = extra.uniform(0.002, 0.012, 2) * max(hf, wf) / 4 * np.where(extra.random(2) < .5, -1, 1)
    small = ndimage.shift(small, shift[::-1], order=1, mode="constant")
    return ndimage.zoom(small, 4, order=1)[:hf, :wf] if min(small.shape) > 1 else \
        np.zeros((hf, wf), np.float32)


def _table(shape, extra) -> np.ndarray:
    """A table top (H, W, 3): wood with grain and plank seams, a dark or grey desk, or cloth."""
    h, w = shape
    kind = TABLES[extra.choice(len(TABLES), p=[0.4, 0.25, 0.2, 0.15])]
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    if kind == "wood":
        phi = extra.uniform(-0.15, 0.15) + (np.pi / 2 if extra.random() < 0.3 else 0)
        across = -xx * np.float32(np.sin(phi)) + yy * np.float32(np.cos(phi))
        swirl = smooth_noise(shape, 50, extra)
        period = np.float32(extra.uniform(5, 16))
        grain = np.sin(np.float32(2 * np.pi) / period
                       * (across + swirl * np.float32(extra.uniform(4, 12))))
        plank = np.float32(extra.uniform(250, 600))
        seam = np.abs(((across + plank / 2) % plank) - plank / 2) < 1.5
        base = np.array([0.58, 0.38, 0.22]) * extra.uniform(0.65, 1.2)
        tone = 1 + 0.07 * grain + 0.08 * swirl - 0.35 * seam
        out = base.astype(np.float32) * tone[..., None]
    elif kind == "cloth":
        period = np.float32(extra.uniform(8, 40))
        check = ((np.sin(2 * np.pi * xx / period) > 0) ^ (np.sin(2 * np.pi * yy / period) > 0))
        c1, c2 = extra.uniform(0.1, 0.8, 3), extra.uniform(0.1, 0.8, 3)
        weave = 1 + 0.06 * np.sin(np.pi * xx) * np.sin(np.pi * yy)
        out = np.where(check[..., None], c1, c2).astype(np.float32) * weave[..., None]
    else:
        level = extra.uniform(0.06, 0.2) if kind == "dark" else extra.uniform(0.35, 0.6)
        tint = 1 + extra.normal(0, 0.05, 3)
        tone = 1 + 0.12 * smooth_noise(shape, 30, extra)
        out = (level * tint).astype(np.float32) * tone[..., None]
    return np.clip(out, 0, 1).astype(np.float32)


def _cast_shadow(shape, extra) -> np.ndarray:
    """A broad soft shadow across the scene (the phone's, a hand's): a factor (H, W) <= 1."""
    h, w = shape
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    angle = extra.uniform(0, 2 * np.pi)
    dist = (xx - w * extra.uniform(0.2, 0.8)) * np.float32(np.cos(angle)) \
        + (yy - h * extra.uniform(0.2, 0.8)) * np.float32(np.sin(angle))
    soft = np.float32(extra.uniform(0.01, 0.08) * max(h, w))
    return 1 - np.float32(extra.uniform(0.15, 0.35)) / (1 + np.exp(-dist / soft))


def _clutter(back: np.ndarray, sheet_box, extra) -> list[dict]:
    """Draw 1-3 things on the table (H, W, 3) between the frame's edges and the sheet's box
    (x0, y0, x1, y1), reaching out of the frame: paper scraps, a pen, a dark object. Returns
    their outlines [{"kind", "polygon"}] in image pixels."""
    from skimage.draw import polygon as fill_polygon
    h, w = back.shape[:2]
    bx0, by0, bx1, by1 = sheet_box
    bands = {"left": bx0, "top": by0, "right": w - bx1, "bottom": h - by1}
    bands = {k: v for k, v in bands.items() if v >= 12}
    items = []
    if not bands:
        return items
    names = list(bands)
    weights = np.array([bands[k] for k in names], float)
    for _ in range(int(extra.integers(1, 4))):
        side = names[extra.choice(len(names), p=weights / weights.sum())]
        depth = bands[side] - 4                       # room between the frame edge and the sheet
        along = w if side in ("top", "bottom") else h
        kind = ("scrap", "pen", "object")[extra.choice(3, p=[0.5, 0.3, 0.2])]
        # in band coordinates: u along the edge, v from the frame edge towards the sheet
        if kind == "pen":
            length = along * extra.uniform(0.2, 0.5)
            radius = max(2.0, depth * extra.uniform(0.1, 0.3))
            u0 = extra.uniform(-0.2, 0.8) * along
            v0, v1 = extra.uniform(radius, depth - radius, 2)
            axis = np.array([[u0, v0], [u0 + length, v1]])
            n = np.array([-(v1 - v0), length]) / np.hypot(length, v1 - v0) * radius
            outline = np.array([axis[0] + n, axis[1] + n, axis[1] - n, axis[0] - n])
        else:
            size = extra.uniform(0.4, 1.0) * depth
            centre = np.array([extra.uniform(0, along), extra.uniform(-0.3, 0.5) * depth])
            k = 10 if kind == "scrap" else 24
            angles = np.sort(extra.uniform(0, 2 * np.pi, k)) if kind == "scrap" else \
                np.linspace(0, 2 * np.pi, k, endpoint=False)
            radii = size / 2 * (extra.uniform(0.6, 1.0, k) if kind == "scrap" else 1.0)
            stretch = extra.uniform(1.0, 2.5)
            outline = centre + np.stack([np.cos(angles) * radii * stretch,
                                         np.sin(angles) * radii], 1)
            outline[:, 1] = np.minimum(outline[:, 1], depth)
        xy = _band_to_image(outline, side, w, h)
        rr, cc = fill_polygon(xy[:, 1], xy[:, 0], shape=(h, w))
        if kind == "scrap":
            tone = (np.array([0.95, 0.94, 0.9]) if extra.random() < 0.7
                    else np.array([0.96, 0.88, 0.45])) * extra.uniform(0.85, 1.0)
            back[rr, cc] = tone
            if extra.random() < 0.6:                  # lines or writing on the scrap
                step = int(extra.integers(10, 30))
                marks = (rr % step == 0) | (extra.random() < 0.5) & (cc % step == 0)
                back[rr[marks], cc[marks]] = tone * np.array([0.6, 0.7, 0.9])
        elif kind == "pen":
            body = extra.uniform(0.05, 0.8, 3)
            back[rr, cc] = body
        else:
            back[rr, cc] = extra.uniform(0.03, 0.15) * (1 + extra.normal(0, 0.1, 3))
        items.append({"kind": kind, "polygon": [[round(float(x), 1), round(float(y), 1)]
                                                for x, y in xy]})
    return items


def _band_to_image(uv: np.ndarray, side: str, w: int, h: int) -> np.ndarray:
    """Band coordinates (u along the frame edge, v inwards from it) -> image (x, y)."""
    u, v = uv[:, 0], uv[:, 1]
    if side == "left":
        return np.stack([v, u], 1)
    if side == "right":
        return np.stack([w - 1 - v, u], 1)
    if side == "top":
        return np.stack([u, v], 1)
    return np.stack([u, h - 1 - v], 1)
