"""One frozen record per audited file; its fields are the CSV columns, in order."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

OK = "ok"
ERROR = "error"


@dataclass(frozen=True)
class AuditResult:
    """Verdict for one file. ``status`` is ``ok`` or ``error``; on error only file facts are set.

    ``patches`` lists the analysed patches as ``"y:x:p_blurry"`` triples separated by spaces,
    with (y, x) the top-left corner at analysis scale (``analysis_width`` x ``analysis_height``).
    """

    path: str
    status: str
    error: str = ""
    label: str = ""
    confidence: float | None = None
    p_blurry: float | None = None
    p_original: float | None = None
    p_sharp: float | None = None
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
    warnings: str = ""  # decoder warnings and messages for this file (kept off the terminal)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CSV_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AuditResult))


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
