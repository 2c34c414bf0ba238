"""Exposure check: crushed shadows, blown highlights, under- and over-exposure.

Computed from the analysis image the worker already holds, sampled to a long side of
:data:`SAMPLE_SIDE` (nearest pixels, so values are exact), with one 256-bin histogram
of luma and one count of blown pixels: about half a millisecond per file at 640x480. Luma is
Rec. 601 (OpenCV's RGB -> grey).

Scores and thresholds
---------------------
* ``shadows_clipped``: fraction of pixels with luma <= :data:`SHADOW_CLIP` (3 of 255).
* ``highlights_clipped``: fraction of pixels whose brightest channel is >= :data:`HIGHLIGHT_CLIP`
  (252 of 255): blown in at least one channel.
* ``under_exposure``: mean over pixels of ``clip((DARK - luma) / DARK, 0, 1)`` with
  :data:`DARK` = 64: 0 when no pixel is darker than a quarter of the range, 1 for a black frame.
* ``over_exposure``: mean of ``clip((luma - BRIGHT) / (255 - BRIGHT), 0, 1)`` with
  :data:`BRIGHT` = 192: 0 when no pixel is in the top quarter, 1 for a white frame.

Both scores only grow when every pixel gets darker (resp. brighter), so they are
monotone in an exposure change. The ``exposure`` flag is ``under`` when
``under_exposure >= UNDER_FLAG`` or ``shadows_clipped >= CLIP_FLAG``, ``over`` when
``over_exposure >= OVER_FLAG`` or ``highlights_clipped >= CLIP_FLAG``, else ``ok``
(the larger excess wins when both hold). Night shots and snow scenes are flagged by design:
the flag says "look at it", not "delete it".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

SHADOW_CLIP = 3
HIGHLIGHT_CLIP = 252
DARK = 64
BRIGHT = 192
UNDER_FLAG = 0.5
OVER_FLAG = 0.4
CLIP_FLAG = 0.25
SAMPLE_SIDE = 512  # larger analysis images are sampled down to this long side (nearest pixels)
OK, UNDER, OVER = "ok", "under", "over"
FLAGS: tuple[str, ...] = (OK, UNDER, OVER)

_LEVELS = np.arange(256, dtype=np.float64)
_UNDER_WEIGHT = np.clip((DARK - _LEVELS) / DARK, 0.0, 1.0)
_OVER_WEIGHT = np.clip((_LEVELS - BRIGHT) / (255 - BRIGHT), 0.0, 1.0)


@dataclass(frozen=True)
class ExposureStats:
    """Exposure facts of one image (all fractions and scores in [0, 1])."""

    shadows_clipped: float
    highlights_clipped: float
    under_exposure: float
    over_exposure: float

    @property
    def flag(self) -> str:
        """``under``, ``over`` or ``ok`` (thresholds in the module docstring)."""
        under = max(self.under_exposure / UNDER_FLAG, self.shadows_clipped / CLIP_FLAG)
        over = max(self.over_exposure / OVER_FLAG, self.highlights_clipped / CLIP_FLAG)
        if max(under, over) < 1.0:
            return OK
        return UNDER if under >= over else OVER

    @property
    def badness(self) -> float:
        """One number for tie-breaks: the larger of the two scores (lower is better)."""
        return max(self.under_exposure, self.over_exposure)


def exposure_stats(pixels: np.ndarray) -> ExposureStats:
    """Exposure statistics of an RGB (or grey) uint8 image.

    Parameters
    ----------
    pixels : (h, w, 3) or (h, w) uint8 image.
    """
    h, w = pixels.shape[:2]
    if max(h, w) > SAMPLE_SIDE:  # a sample of the pixels is plenty for fractions (nearest: exact values)
        step = max(h, w) / SAMPLE_SIDE
        pixels = cv2.resize(pixels, (max(1, round(w / step)), max(1, round(h / step))), interpolation=cv2.INTER_NEAREST)
    if pixels.ndim == 2:
        luma = peak = np.ascontiguousarray(pixels)
    else:
        rgb = np.ascontiguousarray(pixels[..., :3])
        luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        # maximum over strided channel views: a third of the cost of cv2.split's three copies
        peak = np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])
    n = float(max(luma.size, 1))
    hist = cv2.calcHist([luma], [0], None, [256], [0, 256]).ravel().astype(np.float64) / n
    blown = np.count_nonzero(peak >= HIGHLIGHT_CLIP) / n  # one count, not a second histogram
    return ExposureStats(
        shadows_clipped=_r(hist[:SHADOW_CLIP + 1].sum()), highlights_clipped=_r(blown),
        under_exposure=_r(hist @ _UNDER_WEIGHT), over_exposure=_r(hist @ _OVER_WEIGHT))


def _r(value: float) -> float:
    # 4 decimals: exact CSV round trip and stable comparisons between runs
    return round(min(1.0, max(0.0, float(value))), 4)


# the check's CSV column group, in order (registry form: ``Check("exposure", COLUMNS, measure)``)
COLUMNS: dict[str, type] = {"shadows_clipped": float, "highlights_clipped": float, "under_exposure": float,
                            "over_exposure": float, "exposure": str}


def measure(pixels: np.ndarray, grey: np.ndarray | None = None) -> dict[str, Any]:
    """The exposure check's column values for one analysis image (``grey`` is not needed: the
    check converts only its sample of the pixels)."""
    stats = exposure_stats(pixels)
    return {**asdict(stats), "exposure": stats.flag}
