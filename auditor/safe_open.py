"""One guarded open for every file the auditor reads (worker, thumbnails, check, walk sniffing).

Opening a FIFO blocks until a writer appears and reading a device may never end, so a
path is opened non-blocking, identified with ``fstat`` on the open descriptor (no
check-then-open race) and refused unless it is a regular file within the size limit.
"""
from __future__ import annotations

import os
import stat
from typing import BinaryIO

# Files above this size are refused before any byte is decoded: no photo is this large, and a
# JPEG marker followed by gigabytes of zeros would otherwise keep a decoder busy for minutes.
MAX_FILE_BYTES = 1 << 30

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class UnsafeFileError(OSError):
    """The path is not a regular file, or it is larger than the limit."""


def open_regular(path: str | os.PathLike[str], max_bytes: int | None = MAX_FILE_BYTES) -> BinaryIO:
    """Open ``path`` for binary reading only if it is a regular file of at most ``max_bytes``.

    Parameters
    ----------
    path : the file; symbolic links are followed (the target is what gets checked).
    max_bytes : size limit in bytes; None for no limit.

    Returns
    -------
    BinaryIO
        A buffered reader in blocking mode, positioned at the start.

    Raises
    ------
    UnsafeFileError
        A FIFO, socket, device or directory, or a file larger than ``max_bytes``.
    OSError
        The file cannot be opened (missing, permission denied, ...).
    """
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(f"not a regular file ({_kind(st.st_mode)})")
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafeFileError(f"file too large ({st.st_size} bytes, limit {max_bytes})")
        if _FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"
