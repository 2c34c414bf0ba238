"""The registry of per-file checks: each declares its CSV columns and how it is measured.

A check is one module with a function over the decoded analysis image (RGB uint8, long side
at most ``max_side``, and its grey) returning its column values, plus one :class:`Check` entry in
:data:`CHECKS`. The worker runs every ``measure`` on each decoded file, the values travel in
:attr:`auditor.results.AuditResult.checks` and become CSV columns after the existing ones (in
registry order); nothing else changes. The blur classifier is the first entry: its columns,
one probability per label, are computed in the parent from the patch logits.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iqa.auditor import exposure, phash
from iqa.auditor.sharpness import to_grey
from iqa.auditor.labels import LABELS

ColumnType = type  # int, float or str: how the CSV writes and parses the cells


@dataclass(frozen=True)
class Check:
    """One check.

    Attributes
    ----------
    name : short identifier.
    columns : CSV column name -> type (``int``, ``float`` or ``str``), in column order.
    measure : called in the worker with the analysis image and its grey (Rec. 601 luma, OpenCV's
        RGB -> grey, computed once for every check); returns a value (or None) per column. None
        for the classifier, whose values come from the model's logits.
    """

    name: str
    columns: Mapping[str, ColumnType]
    measure: Callable[[Any, Any], Mapping[str, Any]] | None = field(default=None, compare=False)


CLASSIFIER = Check("blur", {f"p_{label}": float for label in LABELS})
# near-duplicate groups need every file: measured as nothing here, filled in after the audit
GROUPS = Check("groups", {"group": int, "group_kind": str, "best_in_group": int}, lambda pixels, grey: {})

CHECKS: tuple[Check, ...] = (CLASSIFIER, Check("phash", phash.COLUMNS, phash.measure),
                             Check("exposure", exposure.COLUMNS, exposure.measure), GROUPS)


def image_checks() -> tuple[Check, ...]:
    """The checks the worker measures on each decoded image, in registry order."""
    return tuple(check for check in CHECKS if check.measure is not None)


def check_columns() -> dict[str, ColumnType]:
    """CSV columns of :func:`image_checks`, in order (they follow the fixed columns)."""
    out: dict[str, ColumnType] = {}
    for check in image_checks():
        for name, kind in check.columns.items():
            if name in out:
                raise ValueError(f"column {name!r} declared by two checks")
            out[name] = kind
    return out


def measure_all(pixels: Any, grey: Any = None) -> dict[str, Any]:
    """Values of every image check's columns for one analysis image (``grey``: its grey, if known)."""
    if grey is None:
        grey = to_grey(pixels)
    values: dict[str, Any] = {}
    for check in image_checks():
        measured = check.measure(pixels, grey)  # type: ignore[misc]
        values.update({name: measured.get(name) for name in check.columns})
    return values
