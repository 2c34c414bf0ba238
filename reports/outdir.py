"""The output folder of an audit: created, or refused with a one-line reason (exit code 4)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

_REASONS = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.ENOTDIR: "not a folder",
            errno.EISDIR: "is a folder", errno.EEXIST: "exists and is not a folder"}


class OutputError(Exception):
    """The output cannot be written; the message is one line and names the path."""


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
