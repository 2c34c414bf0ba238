"""Perceptual hash of the analysis image, for grouping bursts and near-duplicates.

The 64-bit DCT hash (pHash) keeps only the lowest spatial frequencies of a 32 x 32
grey thumbnail, so it survives what separates the frames of a burst or a re-upload
(motion blur, small shifts, JPEG noise, resizing) and changes with the scene.
Pure NumPy/OpenCV, computed from the pixels the worker has already decoded.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from iqa.auditor.sharpness import to_grey

HASH_BITS = 64
_SIDE = 32  # grey thumbnail side the DCT runs on
_KEEP = 8  # the top-left 8 x 8 DCT coefficients make the 64 bits


def dct_hash(pixels: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an RGB (or grey) uint8 image.

    Parameters
    ----------
    pixels : (h, w, 3) or (h, w) uint8 image, any size.

    Returns
    -------
    int
        Bit ``i`` (row-major over the 8 x 8 lowest frequencies) is set when that
        coefficient is above the median of the 63 non-DC ones; a flat image hashes to 0.
    """
    small = cv2.resize(to_grey(pixels), (_SIDE, _SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:_KEEP, :_KEEP].ravel()
    ac = low[1:]
    if float(np.ptp(ac)) < 1e-3:  # flat: no structure to hash
        return 0
    bits = low > np.median(ac)
    bits[0] = False  # the DC term says how bright, not what
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def to_hex(value: int) -> str:
    """Fixed-width (16 digit) lower-case hex text of a 64-bit hash, as stored in the CSV."""
    return f"{value & (2**HASH_BITS - 1):016x}"


def from_hex(text: str) -> int | None:
    """Inverse of :func:`to_hex`; None for an empty or malformed cell."""
    text = text.strip()
    if len(text) != HASH_BITS // 4:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


# the hash's CSV column (registry form: ``Check("phash", COLUMNS, measure)``)
COLUMNS: dict[str, type] = {"phash": str}


def measure(pixels: np.ndarray, grey: np.ndarray | None = None) -> dict[str, Any]:
    """The ``phash`` column for one analysis image (hashed from ``grey``, its grey, when given)."""
    return {"phash": to_hex(dct_hash(pixels if grey is None else grey))}
