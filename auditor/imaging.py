"""Image loading and scaling shared by the auditor and the dataset builder.

Both sides call :func:`open_image` so training data and audited photos go through
exactly the same decode, orientation, colour normalisation and scaling code.
"""
from __future__ import annotations

import io
import math
import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from iqa.auditor.exif import ORIENTATION_TAG, SWAPS_SIDES, apply_orientation, exif_summary
from iqa.auditor.jpeg_markers import has_frame_header
from iqa.auditor.safe_open import UnsafeFileError, open_regular

try:  # HEIC/HEIF support is optional at import time but installed by default.
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform wheel
    pillow_heif = None

try:  # libjpeg-turbo with DCT scaling to any n/8 factor; Pillow decodes JPEGs without it
    import simplejpeg
except ImportError:  # pragma: no cover - installed by default
    simplejpeg = None

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not a grey half-photo
DEFAULT_MAX_SIDE = 1024
FAST_PATH_MAX_BYTES = 256 * 2**20  # larger JPEGs are not read into memory at once
LINEAR_UP_TO = 2.0  # resize factors up to this use bilinear interpolation, larger ones area averaging
# Pillow's own bomb guard warns at 89 MP and raises at 2x that; we refuse anything above this many pixels.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Peak memory one decode may need (decoded frame, its RGB conversion and the numpy copy, estimated
# from size and mode before any pixel is decoded): a 24 KB 1-bit PNG can claim 200 MP.
MAX_DECODE_BYTES = 512 * 2**20
# Bytes per pixel of Pillow's in-memory modes (multi-band modes use 4 bytes per pixel).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".avif"}
)


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


def resize_to(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale to ``size`` (w, h): bilinear up to 2x (it then averages like a box filter and costs a
    sixth of area averaging), area averaging for larger factors so nothing aliases."""
    h, w = pixels.shape[:2]
    if (w, h) == tuple(size):
        return pixels
    factor = max(w / size[0], h / size[1])
    interp = cv2.INTER_LINEAR if factor <= LINEAR_UP_TO else cv2.INTER_AREA
    return cv2.resize(pixels, tuple(size), interpolation=interp)


def resize_to_max_side(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the long side is at most ``max_side`` (never upscales); see :func:`resize_to`."""
    h, w = pixels.shape[:2]
    return resize_to(pixels, analysis_size(w, h, max_side))


def shrink_to_side(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average ``pixels`` down to a long side of ``max_side`` (unchanged when not larger)."""
    h, w = pixels.shape[:2]
    if max(h, w) <= max_side:
        return pixels
    scale = max_side / max(h, w)
    return cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


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


def _draft_for(im: Image.Image, max_side: int) -> None:
    """Ask the JPEG decoder for a reduced-size decode (DCT scaling, about 2x faster) still >= target."""
    if im.format != "JPEG":
        return
    w, h = im.size
    scale = max_side / max(w, h)
    if scale < 1:
        im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))


def _decode_jpeg_scaled(data: bytes, size: tuple[int, int], max_side: int) -> np.ndarray | None:
    """libjpeg-turbo DCT-domain decode at the smallest n/8 scale still >= the analysis size.

    Any n/8 factor (not only Pillow's 1/2, 1/4, 1/8) leaves at most a small resize to do, and the
    DCT scaling itself is a clean low-pass. None when the fast path cannot take the file (no
    simplejpeg, CMYK, a recoverable libjpeg warning): the caller then decodes it with Pillow.
    """
    if simplejpeg is None:
        return None
    tw, th = analysis_size(size[0], size[1], max_side)
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=tw, min_height=th, strict=True)
    except (ValueError, RuntimeError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


Source = str | Path | BinaryIO


@contextmanager
def _binary(source: Source) -> Iterator[BinaryIO]:
    """``source`` as a binary file at offset 0: a path goes through the guarded open."""
    if hasattr(source, "read"):
        source.seek(0)
        yield source
        return
    with open_regular(source) as fh:
        yield fh


def _jpeg_bytes(fh: BinaryIO) -> bytes | None:
    """The file's bytes when it is a JPEG by content (SOI marker) of a size worth reading at once."""
    if fh.read(3) != b"\xff\xd8\xff" or fh.seek(0, os.SEEK_END) > FAST_PATH_MAX_BYTES:  # files and BytesIO
        return None
    fh.seek(0)
    return fh.read()


def _read_jpeg_fast(source: Source, max_side: int) -> LoadedImage | None:
    """The JPEG fast path: Pillow reads only the header (size, mode, EXIF), libjpeg-turbo the pixels."""
    with _binary(source) as fh:
        data = _jpeg_bytes(fh)
    if data is None:
        return None
    if not has_frame_header(data):
        raise ImageLoadError("cannot decode: no JPEG frame header")
    with Image.open(io.BytesIO(data)) as im:
        if im.format != "JPEG" or im.mode not in ("RGB", "L", "YCbCr"):
            return None
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ImageLoadError(f"image too large ({width}x{height} pixels)")
        exif = exif_summary(im)
        orientation = im.getexif().get(ORIENTATION_TAG, 1)
    pixels = _decode_jpeg_scaled(data, (width, height), max_side)
    if pixels is None:
        return None
    pixels = resize_to(pixels, analysis_size(width, height, max_side))  # turn the small image, not the big one
    pixels = apply_orientation(pixels, orientation)
    if orientation in SWAPS_SIDES:
        width, height = height, width
    return LoadedImage(pixels, width, height, "JPEG", exif)


def _check_decode_memory(im: Image.Image) -> None:
    """Refuse a frame whose decode would need more than :data:`MAX_DECODE_BYTES` (before decoding)."""
    w, h = im.size
    frame = _MODE_BYTES.get(im.mode, 4)
    rgb = 0 if im.mode == "RGB" else 4  # Pillow's RGB conversion, 4 bytes per pixel
    need = w * h * (frame + rgb + 3)  # + the numpy RGB copy
    if need > MAX_DECODE_BYTES:
        raise ImageLoadError(f"image too large to decode ({w}x{h} {im.mode}, about {need >> 20} MB;"
                             f" limit {MAX_DECODE_BYTES >> 20} MB)")


def _verify_png(fh: BinaryIO) -> None:
    """Check every chunk CRC up to IEND: ``load()`` skips IDAT CRCs and stops once the rows are full."""
    fh.seek(0)
    with Image.open(fh) as again:
        again.verify()


def _read_with_pillow(source: Source, max_side: int) -> LoadedImage:
    with _binary(source) as fh, Image.open(fh) as im:
        fmt = im.format or "unknown"
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ImageLoadError(f"image too large ({width}x{height} pixels)")
        im.seek(0)  # first frame of animations
        _draft_for(im, max_side)
        _check_decode_memory(im)
        im.load()  # all pixels decoded, and any error raised, before EXIF is read or a verdict given
        if fmt == "PNG":
            _verify_png(fh)
        exif = exif_summary(im)
        orientation = im.getexif().get(ORIENTATION_TAG, 1) if hasattr(im, "getexif") else 1
        im = ImageOps.exif_transpose(im) if orientation != 1 else im
        pixels = to_rgb8(im)
    if orientation in SWAPS_SIDES:
        width, height = height, width
    return LoadedImage(resize_to_max_side(pixels, max_side), width, height, fmt, exif)


def open_image(source: Source, max_side: int = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Decode ``source`` to RGB uint8 at analysis scale, EXIF orientation applied.

    JPEGs are decoded by libjpeg-turbo directly at (nearly) analysis scale; other formats, and
    JPEGs the fast path declines, by Pillow.

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
        with warnings.catch_warnings(), _binary(source) as fh:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fast = _read_jpeg_fast(fh, max_side)
            return fast if fast is not None else _read_with_pillow(fh, max_side)
    except ImageLoadError:
        raise
    except UnsafeFileError as exc:
        raise ImageLoadError(str(exc)) from exc
    except MemoryError as exc:
        raise ImageLoadError("out of memory while decoding") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError("decompression bomb: too many pixels") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not a recognised image format") from exc
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except PermissionError as exc:
        raise ImageLoadError("permission denied") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError("not a regular file (directory)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise ImageLoadError(f"cannot decode: {_first_line(exc)}"[:200]) from exc

