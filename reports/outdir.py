"""The output folder of an audit: created or refused with a one-line reason, and the settings
sidecar (``audit.json``) that lets a resume refuse rows made with another model or scale."""
from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reports.atomic import atomic_output

SIDECAR_NAME = "audit.json"
SIDECAR_VERSION = 1
_REASONS = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.ENOTDIR: "not a folder",
            errno.EISDIR: "is a folder", errno.EEXIST: "exists and is not a folder"}


class OutputError(Exception):
    """The output cannot be written; the message is one line and names the path."""


class SettingsMismatchError(Exception):
    """The CSV being resumed was written with other analysis settings."""


def reason(exc: OSError) -> str:
    """A short human reason for an ``OSError`` (disk full, read-only file system, ...)."""
    return _REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__).lower()


def prepare_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` if needed and check that files can be written in it.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, a device such as ``/dev/null``, lies below a file, or is not writable.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(f"cannot use {out} as output folder: it exists and is not a folder") from exc
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {reason(exc)}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in output folder {out}: permission denied")
    return out


def run_settings(model_path: str | Path, model_name: str, model_version: str, max_side: int,
                 patch_size: int) -> dict[str, Any]:
    """What makes two audits' rows comparable: the model (by content) and the analysis scale."""
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    return {"model_sha256": digest, "model_name": model_name, "model_version": model_version,
            "max_side": int(max_side), "patch_size": int(patch_size)}


def check_settings(out_dir: str | Path, settings: dict[str, Any]) -> None:
    """Raise :class:`SettingsMismatchError` when the sidecar in ``out_dir`` records other settings.

    A missing or unreadable sidecar (a CSV from before sidecars) is accepted.
    """
    try:
        recorded = json.loads((Path(out_dir) / SIDECAR_NAME).read_text(encoding="utf-8")).get("settings", {})
    except (OSError, ValueError, AttributeError):
        return
    differ = [k for k in settings if k in recorded and recorded[k] != settings[k]]
    if differ:
        shown = ", ".join(f"{k} {recorded[k]!r} (now {settings[k]!r})" for k in differ
                          if k not in ("model_sha256",)) or "the model file differs"
        raise SettingsMismatchError(f"the rows in {Path(out_dir)} were made with other settings: {shown}")


def write_settings(out_dir: str | Path, settings: dict[str, Any]) -> None:
    """Record ``settings`` beside the CSV, atomically."""
    with atomic_output(Path(out_dir) / SIDECAR_NAME, fsync=True, encoding="utf-8") as fh:
        json.dump({"version": SIDECAR_VERSION, "settings": settings}, fh, indent=2, sort_keys=True)
        fh.write("\n")
