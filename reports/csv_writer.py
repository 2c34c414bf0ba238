"""Appending rows to the audit CSV, crash-safely, under a lock (format and reading: :mod:`reports.csv_io`).

Rows are appended and flushed one at a time (fsync every :data:`reports.csv_io.FSYNC_EVERY` rows and
at close), so a process killed at any moment leaves a CSV whose complete rows are all valid; a
failed write cuts the file back to its complete rows. Only a file that is provably an audit CSV
is ever changed.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from iqa.auditor.results import CSV_COLUMNS, AuditResult
from iqa.reports.csv_io import (ENCODING, ERRORS, FSYNC_EVERY, LINE_END, CsvFormatError, CsvLockedError,
                                CsvNotOursError, CsvWriteError, Key, owned_length, read_done, result_to_row)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None


def _open_locked(path: Path) -> int:
    """Open ``path`` for appending under an exclusive lock: two audits must not share a CSV.

    A symbolic link is refused (it could point at anyone's file), and so is anything but a
    regular file.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if os.path.islink(path):
        raise CsvNotOursError(f"{path} is a symbolic link")
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CsvNotOursError(f"{path} is a symbolic link") from exc
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CsvNotOursError(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise CsvLockedError(f"{path} is being written by another audit") from exc
    return fd


class CsvResultWriter:
    """Append :class:`AuditResult` rows to an audit CSV, crash-safely.

    Parameters
    ----------
    path : the CSV file; its directory must exist.
    resume : keep the rows already in ``path`` (after cutting a torn last row) and refuse
        to write a second row for any ``(root, path)`` in it; otherwise start a new file.

    Attributes
    ----------
    done : keys ``(root, path)`` present in the file, updated on every write.
    written : rows written by this writer.

    Raises
    ------
    CsvNotOursError
        The existing file is not provably an audit CSV (see :func:`owned_length`), is a
        symbolic link or not a regular file: refused in both modes, never changed.
    CsvFormatError
        On resume, when the existing file has other columns than :data:`CSV_COLUMNS`.
    CsvWriteError
        From :meth:`write`: the disk is full or failed; the file keeps its complete rows.
    CsvLockedError
        When another writer (another audit) has the file open.
    """

    def __init__(self, path: str | Path, resume: bool = True, fsync_every: int = FSYNC_EVERY) -> None:
        self.path = Path(path)
        self.resume = resume
        self.fsync_every = fsync_every
        self.done: set[Key] = set()
        self.written = 0
        self._fh: IO[str] | None = None
        self._writer: Any = None
        self._guard = -1
        self._good = 0
        self._broken = False

    def __enter__(self) -> CsvResultWriter:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Lock the file, resume it or start it afresh, and write the header if it is new."""
        fd = _open_locked(self.path)
        try:
            good = 0
            if os.fstat(fd).st_size:  # checked before anything is cut: only our own file is ever changed
                try:
                    owned = owned_length(self.path)
                except CsvNotOursError:
                    raise
                except CsvFormatError:  # another version's audit CSV: replaced by --fresh only
                    if self.resume:
                        raise
                    owned = 0
                good = owned if self.resume else 0
            if os.fstat(fd).st_size != good:  # a torn last row, or a fresh start
                os.ftruncate(fd, good)
                os.fsync(fd)
            if good:
                self.done = read_done(self.path)
            self._guard = os.dup(fd)  # to cut the file back if a write fails half-way
        except BaseException:
            os.close(fd)
            raise
        self._fh = os.fdopen(fd, "a", encoding=ENCODING, errors=ERRORS, newline="")
        self._writer = csv.writer(self._fh, lineterminator=LINE_END)
        self._good = good
        if not good:
            self._guarded(lambda: self._writer.writerow(CSV_COLUMNS))
            self._sync()

    def write(self, result: AuditResult) -> bool:
        """Append one row; returns False (and writes nothing) when its key is already there."""
        key = (result.root, result.path)
        if key in self.done:
            return False
        self._guarded(lambda: self._writer.writerow(result_to_row(result)))
        self.done.add(key)
        self.written += 1
        if self.written % self.fsync_every == 0:
            os.fsync(self._fh.fileno())  # and a crashed machine loses at most a few rows
        return True

    def _guarded(self, write: Callable[[], Any]) -> None:
        """Write and flush one row; on failure cut the file back to its complete rows and raise."""
        try:
            write()
            self._fh.flush()  # a killed process loses nothing that was written
        except OSError as exc:
            self._broken = True
            self._cut_back()
            raise CsvWriteError(exc.errno, f"cannot write {self.path}: {os.strerror(exc.errno or errno.EIO)};"
                                f" it holds the {len(self.done)} rows written before") from exc
        self._good = os.fstat(self._guard).st_size

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._guard, self._good)
            os.fsync(self._guard)
        except OSError:
            pass

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush, fsync and close (idempotent); after a failed write, keep only the complete rows."""
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        try:
            if not self._broken:
                fh.flush()
                os.fsync(fh.fileno())
            fh.close()
        except OSError:
            self._broken = True
            with contextlib.suppress(OSError):
                fh.close()
        if self._broken:  # the buffer's retried flush may have written half a row again
            self._cut_back()
        os.close(self._guard)


def write_results(path: str | Path, results: Iterable[AuditResult]) -> int:
    """Write ``results`` to a new CSV at ``path`` (overwriting); returns the row count."""
    with CsvResultWriter(path, resume=False) as writer:
        for result in results:
            writer.write(result)
        return writer.written
