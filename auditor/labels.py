"""Class labels, defined once for the whole project."""
from __future__ import annotations

from typing import Final

LABELS: Final[tuple[str, str, str]] = ("blurry", "original", "sharp")
BLURRY: Final[str] = LABELS[0]
ORIGINAL: Final[str] = LABELS[1]
SHARP: Final[str] = LABELS[2]
