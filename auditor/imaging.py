"""Image loading and scaling shared by the auditor and the dataset builder.

Both sides call :func:`load_image` so training data and audited photos go through
exactly the same decode, orientation, colour normalisation and scaling code.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF support is optional at import time but installed by default.
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform wheel
    pillow_heif = None

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not a grey half-photo
DEFAULT_MAX_SIDE = 1024
# Pillow's own bomb guard warns at 89 MP and raises at 2x that; we refuse anything above this many pixels.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif"}
)
_EXIF_TAGS = {0x010F: "make", 0x0110: "camera", 0x829A: "exposure_time", 0x920A: "focal_length", 0xA434: "lens"}


class ImageLoadError(Exception):
    """A file that cannot be decoded; the message is a short human reason."""


@dataclass(frozen=True)
class LoadedImage:
    """An RGB uint8 image at analysis scale plus facts about the file it came from."""

    pixels: np.ndarray
    width: int
    height: int
    format: str
    exif: dict[str, str] = field(default_factory=dict)


def analysis_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Size (w, h) an image of ``width x height`` has at analysis scale (never upscaled)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_to_max_side(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the long side is at most ``max_side`` (area averaging; never upscales)."""
    h, w = pixels.shape[:2]
    tw, th = analysis_size(w, h, max_side)
    if (tw, th) == (w, h):
        return pixels
    return cv2.resize(pixels, (tw, th), interpolation=cv2.INTER_AREA)


def rescale(pixels: np.ndarray, factor: float) -> np.ndarray:
    """Resample by ``factor`` (area averaging when shrinking, cubic when enlarging)."""
    h, w = pixels.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(pixels, size, interpolation=interp)


def to_rgb8(im: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode (16-bit, alpha, palette, CMYK, grey, float) to RGB uint8."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 else 255.0
        grey = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.nan_to_num(np.asarray(im, dtype=np.float64))
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        grey = ((arr - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))  # alpha over white, like a viewer
        im = Image.alpha_composite(white, im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def _exif_summary(im: Image.Image) -> dict[str, str]:
    try:
        exif = im.getexif()
        merged = dict(exif)
        merged.update(exif.get_ifd(0x8769))  # Exif sub-IFD holds exposure, focal length, lens
    except Exception:
        return {}
    out: dict[str, str] = {}
    for tag, name in _EXIF_TAGS.items():
        value = merged.get(tag)
        if value is None:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[name] = str(value).strip("\x00 ").strip()
    if "make" in out and "camera" in out and not out["camera"].lower().startswith(out["make"].lower()):
        out["camera"] = f"{out['make']} {out['camera']}"
    out.pop("make", None)
    return out


def _draft_for(im: Image.Image, max_side: int) -> None:
    """Ask the JPEG decoder for a reduced-size decode (DCT scaling, about 2x faster) still >= target."""
    if im.format != "JPEG":
        return
    w, h = im.size
    scale = max_side / max(w, h)
    if scale < 1:
        im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))


def open_image(source: str | Path | BinaryIO, max_side: int = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Decode ``source`` to RGB uint8 at analysis scale, EXIF orientation applied.

    Parameters
    ----------
    source : path of the image file, or a seekable binary file object (bytes fetched from object storage).
    max_side : long side of the analysis scale in pixels; smaller images keep their size.

    Raises
    ------
    ImageLoadError
        For anything that is not a complete, decodable image of reasonable size.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                fmt = im.format or "unknown"
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise ImageLoadError(f"image too large ({width}x{height} pixels)")
                im.seek(0)  # first frame of animations
                exif = _exif_summary(im)
                orientation = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
                _draft_for(im, max_side)
                im.load()
                im = ImageOps.exif_transpose(im) if orientation != 1 else im
                pixels = to_rgb8(im)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError("decompression bomb: too many pixels") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not a recognised image format") from exc
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except PermissionError as exc:
        raise ImageLoadError("permission denied") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(f"cannot decode: {reason}"[:200]) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return LoadedImage(resize_to_max_side(pixels, max_side), width, height, fmt, exif)
