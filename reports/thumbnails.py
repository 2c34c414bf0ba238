"""Thumbnails, patch maps and ``data:`` URIs for the self-contained HTML reports.

Thumbnails go through :func:`auditor.imaging.open_image`, so they are decoded and
oriented exactly like the analysed image; patch corners (given at analysis scale)
are scaled by ``thumb_w / analysis_width`` and ``thumb_h / analysis_height``.
A file that cannot be read any more degrades to a generated placeholder.
All data URIs are produced here from bytes we encoded ourselves (base64 only).
"""
from __future__ import annotations

import base64
import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from iqa.auditor.capture import Capture, FileTimeout, time_limit
from iqa.auditor.imaging import ImageLoadError, open_image, shrink_to_side
from iqa.auditor.jpeg_markers import frame_size
from iqa.auditor.results import AuditResult, decode_patches
from iqa.reports.svg import svg_data_uri

THUMB_SIDE = 240
SMALL_SIDE = 96
JPEG_QUALITY = 72
THUMB_SECONDS = 20.0  # a thumbnail that takes longer becomes a placeholder (the report phase's timeout)
_CAPTURE = Capture()  # decoder warnings while thumbnailing stay off the terminal
# Patch colour ramp over p_blurry: green (crisp) -> yellow -> red (blurry).
PATCH_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (26, 152, 80)), (0.5, (254, 224, 80)), (1.0, (215, 48, 39)))


@dataclass(frozen=True)
class Thumb:
    """A ready-to-embed thumbnail: ``src`` (and ``map_src`` with patches drawn) or a placeholder."""

    src: str
    width: int
    height: int
    map_src: str = ""
    error: str = ""


def source_path(result: AuditResult) -> Path:
    """Where the file of ``result`` lives: ``root / path`` unless ``path`` is absolute."""
    path = Path(result.path)
    return path if path.is_absolute() or not result.root else Path(result.root) / path


def patch_color(p: float) -> tuple[int, int, int]:
    """RGB colour of a patch with blur probability ``p`` (clipped to [0, 1])."""
    p = min(1.0, max(0.0, float(p))) if math.isfinite(p) else 0.5
    for (x0, c0), (x1, c1) in zip(PATCH_STOPS, PATCH_STOPS[1:]):  # plain floats: np.interp costs 15 us a call
        if p <= x1:
            t = (p - x0) / (x1 - x0)
            r, g, b = (int(round(a + (z - a) * t)) for a, z in zip(c0, c1))
            return r, g, b
    return PATCH_STOPS[-1][1]  # pragma: no cover - p is clipped to the last stop


def legend_gradient(steps: int = 5) -> str:
    """CSS ``linear-gradient`` of the patch colour ramp, for the report legend."""
    stops = []
    for i in range(steps):
        p = i / (steps - 1)
        r, g, b = patch_color(p)
        stops.append(f"rgb({r},{g},{b}) {p * 100:.0f}%")
    return "linear-gradient(90deg, " + ", ".join(stops) + ")"


def load_thumbnail(path: str | Path, max_side: int = THUMB_SIDE) -> np.ndarray:
    """RGB uint8 thumbnail (long side ``<= max_side``), oriented like the analysis.

    Raises
    ------
    ImageLoadError
        When the file is gone or cannot be decoded any more.
    """
    try:
        with _CAPTURE(), time_limit(THUMB_SECONDS):
            return open_image(path, max_side=max_side).pixels
    except ImageLoadError:
        raise
    except FileTimeout as exc:
        raise ImageLoadError(f"thumbnail {exc}") from exc
    except Exception as exc:  # never let a thumbnail crash a report
        raise ImageLoadError(f"cannot read: {type(exc).__name__}") from exc


def patch_boxes(patches: list[tuple[int, int, float]], analysis_size: tuple[int, int], patch_size: int,
                thumb_size: tuple[int, int]) -> list[tuple[int, int, int, int, tuple[int, int, int]]]:
    """Thumbnail rectangles ``(x0, y0, x1, y1, rgb)`` (inclusive pixels) of the analysed patches.

    Parameters
    ----------
    patches : ``(y, x, p_blurry)`` with (y, x) the top-left corner at analysis scale.
    analysis_size : (width, height) of the analysis image.
    patch_size : side of a patch at analysis scale.
    thumb_size : (width, height) of the thumbnail the boxes are drawn on.
    """
    w, h = thumb_size
    sx, sy = w / max(analysis_size[0], 1), h / max(analysis_size[1], 1)
    boxes = []
    for y, x, p in patches:
        x0, y0 = int(round(x * sx)), int(round(y * sy))
        x1, y1 = min(w, int(round((x + patch_size) * sx))) - 1, min(h, int(round((y + patch_size) * sy))) - 1
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1, y1, patch_color(p)))
    return boxes


def patch_map_svg(patches: list[tuple[int, int, float]], analysis_size: tuple[int, int], patch_size: int,
                  thumb_size: tuple[int, int]) -> str:
    """The patch map as a transparent SVG the size of the thumbnail, to lie over it.

    Patches are lightly filled and outlined in their colour, over a dark halo so outlines
    stand out on any photo. Drawn by the browser: the report decodes, draws and encodes no
    second image per file (the worker's thumbnail is embedded as it is).

    Returns
    -------
    str
        SVG text; only numbers and our own colours go into it.
    """
    w, h = thumb_size
    t = 2 if min(w, h) >= 160 else 1
    half = t / 2  # a stroke is centred on its line: drawn t / 2 inside the patch, it stays in it
    fills, halo, lines = [], [], []
    for x0, y0, x1, y1, (r, g, b) in patch_boxes(patches, analysis_size, patch_size, thumb_size):
        colour, pw, ph = f"#{r:02x}{g:02x}{b:02x}", x1 - x0 + 1, y1 - y0 + 1  # pixels x0..x1: [x0, x1 + 1)
        fills.append(f'<path fill="{colour}" d="M{x0} {y0}h{pw}v{ph}h-{pw}z"/>')
        # the dark halo runs one pixel further out than the outline
        halo.append(f"M{x0 - 1 + half:g} {y0 - 1 + half:g}h{pw + 2 - t}v{ph + 2 - t}h-{pw + 2 - t}z")
        lines.append(f'<path stroke="{colour}" d="M{x0 + half:g} {y0 + half:g}h{pw - t}v{ph - t}h-{pw - t}z"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'shape-rendering="crispEdges"><g fill-opacity="0.35">{"".join(fills)}</g>'
            f'<g fill="none" stroke-width="{t}"><path stroke="#141414" d="{"".join(halo)}"/>{"".join(lines)}</g></svg>')


def jpeg_data_uri(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> str:
    """Encode an RGB uint8 image as a base64 JPEG ``data:`` URI."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - cv2 only fails on invalid input
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def png_data_uri(png: bytes) -> str:
    """Wrap PNG bytes in a base64 ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@functools.lru_cache(maxsize=8)
def placeholder_data_uri(width: int = THUMB_SIDE, height: int = THUMB_SIDE * 3 // 4) -> str:
    """Neutral grey 'image unavailable' tile (a crossed frame), as a PNG data URI."""
    img = np.full((height, width, 3), 236, np.uint8)
    cv2.rectangle(img, (0, 0), (width - 1, height - 1), (200, 204, 210), 2)
    cv2.line(img, (0, 0), (width - 1, height - 1), (210, 214, 220), 1, cv2.LINE_AA)
    cv2.line(img, (0, height - 1), (width - 1, 0), (210, 214, 220), 1, cv2.LINE_AA)
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG", optimize=True)
    return png_data_uri(out.getvalue())


def _patch_map_src(size: tuple[int, int], result: AuditResult) -> str:
    """``data:`` URI of the patch map of ``result`` over a thumbnail of ``size`` (w, h); "" without patches."""
    if not (result.patches and result.analysis_width and result.analysis_height and result.patch_size):
        return ""
    try:
        patches = decode_patches(result.patches)
    except ValueError:
        return ""
    analysis = (int(result.analysis_width), int(result.analysis_height))
    return svg_data_uri(patch_map_svg(patches, analysis, int(result.patch_size), size))


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """RGB pixels of JPEG ``data`` (a thumbnail a worker made), or None when it does not decode."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def make_thumb(result: AuditResult, max_side: int = THUMB_SIDE, *, with_map: bool = False,
               jpeg: bytes | None = None) -> Thumb:
    """Thumbnail of the file behind ``result`` (optionally with its patch map); never raises.

    Parameters
    ----------
    result : the audited file; ``root`` and ``path`` locate it.
    max_side : long side of the thumbnail in pixels.
    with_map : also render the patch map (empty ``map_src`` when the row has no patch data).
    jpeg : thumbnail of the analysed image made by the worker (long side >= ``max_side``): used
        instead of decoding the file again (embedded as is when it has the right size).

    Returns
    -------
    Thumb
        With ``error`` set and a placeholder ``src`` when the file cannot be read.
    """
    size = frame_size(jpeg) if jpeg else None  # from the header: a damaged one is decoded (or replaced) below
    if size is not None and max(size) <= max_side:  # the worker's thumbnail as it is: nothing decoded
        map_src = _patch_map_src(size, result) if with_map else ""
        return Thumb("data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"), size[0], size[1], map_src)
    pixels = decode_jpeg(jpeg) if jpeg else None
    if pixels is not None:
        thumb = shrink_to_side(pixels, max_side)
        h, w = thumb.shape[:2]
        map_src = _patch_map_src((w, h), result) if with_map else ""
        return Thumb(jpeg_data_uri(thumb), w, h, map_src)
    try:
        thumb = load_thumbnail(source_path(result), max_side)
    except ImageLoadError as exc:
        return Thumb(placeholder_data_uri(max_side, max_side * 3 // 4), max_side, max_side * 3 // 4, error=str(exc))
    h, w = thumb.shape[:2]
    map_src = _patch_map_src((w, h), result) if with_map else ""
    return Thumb(jpeg_data_uri(thumb), w, h, map_src)
