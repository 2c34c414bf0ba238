"""``audit.json`` beside ``audit.csv``: the CSV's schema version and what produced its rows.

The CSV stays a plain CSV that any spreadsheet opens; this small JSON file records the
schema version (:data:`auditor.results.CSV_SCHEMA_VERSION`), the columns, the model (name,
version, SHA-256 of the ``.tflite``) and the analysis scale. Readers must not need it: an old
audit folder has none, and :func:`read_sidecar` then returns None.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from iqa.auditor.results import CSV_COLUMNS, CSV_SCHEMA_VERSION
from iqa.reports.atomic import atomic_output

SCHEMA = "iqa-audit-csv"


def sidecar_path(csv_path: str | Path) -> Path:
    """``audit.json`` for ``audit.csv`` (same folder, same stem)."""
    return Path(csv_path).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_run(model_name: str, model_version: str, model_path: str | Path, max_side: int,
                 iqa_version: str) -> dict[str, Any]:
    """The sidecar's content for a run with this model and analysis scale."""
    return {"schema": SCHEMA, "schema_version": CSV_SCHEMA_VERSION, "columns": list(CSV_COLUMNS),
            "iqa_version": iqa_version,
            "model": {"name": model_name, "version": model_version, "file": Path(model_path).name,
                      "sha256": file_sha256(model_path)},
            "max_side": max_side}


def read_sidecar(csv_path: str | Path) -> dict[str, Any] | None:
    """The sidecar of ``csv_path``, or None when it is missing, unreadable or not ours."""
    try:
        data = json.loads(sidecar_path(csv_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def write_sidecar(csv_path: str | Path, content: dict[str, Any]) -> bool:
    """Write the sidecar atomically; False (nothing written) when a file there is not ours."""
    path = sidecar_path(csv_path)
    if path.exists() and read_sidecar(csv_path) is None:
        return False  # a user's file that is not provably ours is never overwritten
    with atomic_output(path, encoding="utf-8") as fh:
        fh.write(json.dumps(content, indent=2) + "\n")
    return True


def same_producer(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when two sidecars describe rows from the same schema, model file and analysis scale."""
    keys = ("schema_version", "max_side")
    return all(old.get(k) == new.get(k) for k in keys) and (old.get("model") or {}).get("sha256") == \
        new["model"]["sha256"]
