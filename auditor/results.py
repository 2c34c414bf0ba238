"""One frozen record per audited file; its fields give the CSV columns, in order."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from iqa.auditor.labels import LABELS
from iqa.auditor.registry import CLASSIFIER, check_columns

OK = "ok"
ERROR = "error"


@dataclass(frozen=True)
class AuditResult:
    """Verdict for one file. ``status`` is ``ok`` or ``error``; on error only file facts are set.

    ``probs`` maps each label to its calibrated image-level probability (CSV columns
    ``p_<label>``, also readable as attributes: ``result.p_blurry``); ``checks`` holds the
    columns of the other registered checks (:mod:`auditor.registry`). The constructor also
    takes those CSV column names as keywords (``p_blurry=0.9``), as a CSV reader has them.

    ``patches`` lists the analysed patches as ``"y:x:p_blurry"`` triples separated by spaces,
    with (y, x) the top-left corner at analysis scale (``analysis_width`` x ``analysis_height``).
    """

    path: str
    status: str
    error: str = ""
    label: str = ""
    confidence: float | None = None
    probs: Mapping[str, float] = field(default_factory=dict, hash=False)
    sharpness: float | None = None
    width: int | None = None
    height: int | None = None
    format: str = ""
    bytes: int | None = None
    camera: str = ""
    lens: str = ""
    exposure_time: str = ""
    focal_length: str = ""
    root: str = ""
    analysis_width: int | None = None
    analysis_height: int | None = None
    patch_size: int | None = None
    patches: str = ""
    checks: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def __getattr__(self, name: str) -> Any:
        # only called for names that are not fields: the CSV's p_<label> and check columns
        if name.startswith("p_") and name[2:] in LABELS:
            return self.probs.get(name[2:])
        if name in CHECK_COLUMNS:
            return self.checks.get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """Values by CSV column, in :data:`CSV_COLUMNS` order."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "probs":
                out.update({name: self.probs.get(name[2:]) for name in CLASSIFIER.columns})
            elif f.name == "checks":
                out.update({name: self.checks.get(name) for name in CHECK_COLUMNS})
            else:
                out[f.name] = getattr(self, f.name)
        return out


_dataclass_init = AuditResult.__init__


def _init(self: AuditResult, *args: Any, probs: Mapping[str, float] | None = None,
          checks: Mapping[str, Any] | None = None, **columns: Any) -> None:
    """The dataclass ``__init__``, also taking ``p_<label>`` and check columns as keywords.

    None (and, for check columns, an empty CSV cell) means absent, so a result read back from
    the CSV equals the one written.
    """
    merged = dict(probs or {})
    merged.update({name[2:]: columns.pop(name) for name in CLASSIFIER.columns if name in columns})
    extra = dict(checks or {})
    extra.update({name: columns.pop(name) for name in CHECK_COLUMNS if name in columns})
    _dataclass_init(self, *args, probs={k: v for k, v in merged.items() if v is not None},  # type: ignore[misc]
                    checks={k: v for k, v in extra.items() if v is not None and v != ""}, **columns)


AuditResult.__init__ = _init  # type: ignore[method-assign]


def _column_kind(annotation: Any) -> type:
    text = str(annotation)
    return int if text.startswith("int") else float if text.startswith("float") else str


CHECK_COLUMNS: dict[str, type] = check_columns()


def _column_types() -> dict[str, type]:
    out: dict[str, type] = {}
    for f in fields(AuditResult):
        group = (dict(CLASSIFIER.columns) if f.name == "probs" else CHECK_COLUMNS if f.name == "checks"
                 else {f.name: _column_kind(f.type)})
        for name, kind in group.items():
            if name in out:
                raise ValueError(f"CSV column {name!r} defined twice")
            out[name] = kind
    return out


# CSV column -> int, float or str (how cells are written and parsed), in column order.
COLUMN_TYPES: dict[str, type] = _column_types()
CSV_COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)
# Version of the CSV's columns and their meaning (recorded in ``audit.json`` beside the CSV,
# see :mod:`reports.sidecar`); raise it when a column changes or goes.
CSV_SCHEMA_VERSION = 1


def encode_patches(corners: Any, p_blurry: Any) -> str:
    """Compact text form of patch corners and their blur probabilities."""
    return " ".join(f"{int(y)}:{int(x)}:{float(p):.3f}" for (y, x), p in zip(corners, p_blurry))


def decode_patches(text: str) -> list[tuple[int, int, float]]:
    """Inverse of :func:`encode_patches`; tolerant of an empty string."""
    out = []
    for item in text.split():
        y, x, p = item.split(":")
        out.append((int(y), int(x), float(p)))
    return out


@dataclass(frozen=True)
class AuditSummary:
    """Totals of one audit run, for the end-of-run screen and the HTML report."""

    files: int
    errors: int
    counts: dict[str, int]  # label -> number of files with that verdict
    seconds: float
    model_name: str
    model_version: str
    roots: tuple[str, ...] = ()
    audited: int | None = None  # files analysed in this run (fewer than ``files`` after a resume)

    @property
    def files_per_second(self) -> float:
        done = self.files if self.audited is None else self.audited
        return done / self.seconds if self.seconds > 0 else 0.0
