"""Class labels, defined once for the whole project."""
from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

LABELS: Final[tuple[str, str, str]] = ("blurry", "original", "sharp")
BLURRY: Final[str] = LABELS[0]
ORIGINAL: Final[str] = LABELS[1]
SHARP: Final[str] = LABELS[2]


def blur_margin(logits: np.ndarray) -> np.ndarray:
    """Blurry-vs-rest margin over the last axis of logits ordered as :data:`LABELS`: the blurry score
    minus the best other one."""
    return logits[..., 0] - logits[..., 1:].max(axis=-1)
