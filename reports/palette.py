"""Colours and series order shared by the plots (SVG and matplotlib), badges and galleries."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from iqa.auditor.labels import LABELS

LABEL_COLORS: dict[str, str] = {"blurry": "#d1495b", "original": "#2e86ab", "sharp": "#8e5cc4"}
ERROR_COLOR = "#8a8f98"
OTHER_COLOR = "#5f6b7a"
TEXT_COLOR = "#1f2933"
GRID_COLOR = "#e4e7eb"


def label_color(label: str) -> str:
    """Hex colour of ``label``, consistent across plots, badges and galleries."""
    return LABEL_COLORS.get(label, OTHER_COLOR)


def ordered_names(keys: Iterable[str]) -> list[str]:
    """Every label of ``LABELS`` in its order, then any other key, sorted."""
    return list(LABELS) + sorted(k for k in set(keys) if k not in LABELS)


def ordered_series(series: Mapping[str, Sequence[float] | np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """``(label, float64 array)`` for the keys of ``series``, labels of ``LABELS`` first."""
    keys = [k for k in LABELS if k in series] + sorted(k for k in series if k not in LABELS)
    return [(k, np.asarray(series[k], dtype=np.float64)) for k in keys]
