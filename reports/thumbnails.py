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
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.results import AuditResult, decode_patches

THUMB_SIDE = 240
SMALL_SIDE = 96
JPEG_QUALITY = 72
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
    p = min(1.0, max(0.0, float(p))) if np.isfinite(p) else 0.5
    xs = [s[0] for s in PATCH_STOPS]
    r, g, b = (int(round(np.interp(p, xs, [s[1][c] for s in PATCH_STOPS]))) for c in range(3))
    return r, g, b


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
        return open_image(path, max_side=max_side).pixels
    except ImageLoadError:
        raise
    except Exception as exc:  # never let a thumbnail crash a report
        raise ImageLoadError(f"cannot read: {type(exc).__name__}") from exc


def draw_patch_map(thumb: np.ndarray, patches: list[tuple[int, int, float]], analysis_size: tuple[int, int],
                   patch_size: int) -> np.ndarray:
    """Draw the analysed patches as rectangles coloured by their blur probability.

    Parameters
    ----------
    thumb : (h, w, 3) uint8 thumbnail of the analysed image.
    patches : ``(y, x, p_blurry)`` with (y, x) the top-left corner at analysis scale.
    analysis_size : (width, height) of the analysis image.
    patch_size : side of a patch at analysis scale.

    Returns
    -------
    numpy.ndarray
        A new uint8 image: patches lightly filled and outlined in their colour.
    """
    h, w = thumb.shape[:2]
    sx, sy = w / max(analysis_size[0], 1), h / max(analysis_size[1], 1)
    fill, out = thumb.copy(), thumb.copy()
    boxes = []
    for y, x, p in patches:
        x0, y0 = int(round(x * sx)), int(round(y * sy))
        x1, y1 = min(w, int(round((x + patch_size) * sx))) - 1, min(h, int(round((y + patch_size) * sy))) - 1
        if x1 > x0 and y1 > y0:
            boxes.append(((x0, y0), (x1, y1), patch_color(p)))
            cv2.rectangle(fill, (x0, y0), (x1, y1), boxes[-1][2], thickness=-1)
    cv2.addWeighted(fill, 0.35, thumb, 0.65, 0, dst=out)
    thickness = 2 if min(h, w) >= 160 else 1
    for p0, p1, _ in boxes:  # dark halo first, so outlines stand out on any photo
        cv2.rectangle(out, (p0[0] - 1, p0[1] - 1), (p1[0] + 1, p1[1] + 1), (20, 20, 20), thickness=thickness)
    for p0, p1, color in boxes:
        cv2.rectangle(out, p0, p1, color, thickness=thickness)
    return out


def jpeg_data_uri(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> str:
    """Encode an RGB uint8 image as a base64 JPEG ``data:`` URI."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_OPTIMIZE, 1])
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


def _patch_map_src(thumb: np.ndarray, result: AuditResult) -> str:
    if not (result.patches and result.analysis_width and result.analysis_height and result.patch_size):
        return ""
    try:
        patches = decode_patches(result.patches)
    except ValueError:
        return ""
    size = (int(result.analysis_width), int(result.analysis_height))
    return jpeg_data_uri(draw_patch_map(thumb, patches, size, int(result.patch_size)))


def make_thumb(result: AuditResult, max_side: int = THUMB_SIDE, *, with_map: bool = False) -> Thumb:
    """Thumbnail of the file behind ``result`` (optionally with its patch map); never raises.

    Parameters
    ----------
    result : the audited file; ``root`` and ``path`` locate it.
    max_side : long side of the thumbnail in pixels.
    with_map : also render the patch map (empty ``map_src`` when the row has no patch data).

    Returns
    -------
    Thumb
        With ``error`` set and a placeholder ``src`` when the file cannot be read.
    """
    try:
        thumb = load_thumbnail(source_path(result), max_side)
    except ImageLoadError as exc:
        return Thumb(placeholder_data_uri(max_side, max_side * 3 // 4), max_side, max_side * 3 // 4, error=str(exc))
    h, w = thumb.shape[:2]
    map_src = _patch_map_src(thumb, result) if with_map else ""
    return Thumb(jpeg_data_uri(thumb), w, h, map_src)
