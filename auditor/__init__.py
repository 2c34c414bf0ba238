"""iqa auditor: imaging core and int8 inference (never imports TensorFlow).

Heavy modules load lazily so that ``import auditor`` and ``iqa check`` start fast.
"""
from __future__ import annotations

from typing import Any

from iqa.auditor.labels import BLURRY, LABELS, ORIGINAL, SHARP

__all__ = ["LABELS", "BLURRY", "ORIGINAL", "SHARP", "audit", "audit_dataframe", "AuditResult", "AuditConfig"]
__version__ = "0.1.0"

_LAZY = {
    "audit": "iqa.auditor.pipeline",
    "audit_dataframe": "iqa.auditor.pipeline",
    "AuditConfig": "iqa.auditor.pipeline",
    "AuditResult": "iqa.auditor.results",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")
