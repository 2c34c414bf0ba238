"""The audit CSV: crash-safe appending, resume, spreadsheet-safe text cells.

Contract
--------
* Columns are :data:`auditor.results.CSV_COLUMNS`, in order, header first; UTF-8, CRLF rows (RFC 4180).
* One row per ``(root, path)``; ``path`` is relative to ``root``.
* Rows are appended and flushed one at a time (fsync every few rows and at close), so a
  process killed at any moment leaves a CSV whose complete rows are all valid; a torn
  last row is cut off when the file is resumed.
* Text cells that a spreadsheet would run as a formula (first character ``= + - @``, tab
  or CR) get a leading ``'`` (OWASP CSV injection); so do cells already starting with
  ``'``, which makes the escaping exactly reversible. Numeric columns stay plain numbers.
* File names that are not valid UTF-8 are stored byte for byte (surrogate escapes), so
  ``os.path.join(root, path)`` read back from the CSV opens the same file.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from iqa.auditor.results import COLUMN_TYPES, CSV_COLUMNS, AuditResult
from iqa.reports.atomic import atomic_output

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None

ENCODING = "utf-8"
ERRORS = "surrogateescape"
# CRLF as RFC 4180 says; it also makes the writer quote fields holding a bare CR.
LINE_END = "\r\n"
FSYNC_EVERY = 32
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
INT_COLUMNS = frozenset(n for n, t in COLUMN_TYPES.items() if t is int)
FLOAT_COLUMNS = frozenset(n for n, t in COLUMN_TYPES.items() if t is float)
TEXT_COLUMNS = frozenset(CSV_COLUMNS) - INT_COLUMNS - FLOAT_COLUMNS

Key = tuple[str, str]


class CsvFormatError(ValueError):
    """An existing CSV that is not an audit CSV of this version (other columns)."""


class CsvLockedError(CsvFormatError):
    """Another process holds the CSV open for writing."""


def neutralise(text: str) -> str:
    """Make a text cell inert in spreadsheets: prefix ``'`` when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def restore(text: str) -> str:
    """Inverse of :func:`neutralise`."""
    return text[1:] if text.startswith("'") else text


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in TEXT_COLUMNS:
        return neutralise(str(value))
    return repr(float(value)) if name in FLOAT_COLUMNS else str(int(value))


def _parse(name: str, cell: str) -> Any:
    if name in TEXT_COLUMNS:
        return restore(cell)
    if cell == "":
        return None
    return float(cell) if name in FLOAT_COLUMNS else int(float(cell))


def result_to_row(result: AuditResult) -> list[str]:
    """CSV cells of one result, in :data:`CSV_COLUMNS` order."""
    values = result.as_dict()
    return [_cell(name, values[name]) for name in CSV_COLUMNS]


def row_to_result(row: dict[str, str]) -> AuditResult:
    """Parse one CSV row (a dict keyed by column name); missing columns take defaults."""
    return AuditResult(**{name: _parse(name, row[name]) for name in CSV_COLUMNS if name in row})


def _open(path: str | Path, mode: str) -> IO[str]:
    return open(path, mode, encoding=ENCODING, errors=ERRORS, newline="")


def _records(fh: IO[str]) -> Iterator[tuple[list[str], int, bool]]:
    """Yield ``(fields, end_offset, ends_with_newline)`` per CSV record, stopping at a torn one."""
    offset = 0
    ends_nl = True

    def lines() -> Iterator[str]:
        nonlocal offset, ends_nl
        for line in fh:
            offset += len(line.encode(ENCODING, ERRORS))
            ends_nl = line.endswith("\n")
            yield line

    reader = csv.reader(lines(), strict=True)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:  # EOF inside a quoted field: a torn row
            return
        yield record, offset, ends_nl


def valid_length(path: str | Path) -> tuple[int, list[str] | None]:
    """Byte length of the longest prefix of complete rows, and the header (None if empty)."""
    good, header = 0, None
    with _open(path, "r") as fh:
        for record, end, ends_nl in _records(fh):
            if header is None:
                header = record
            elif len(record) != len(header):
                break
            if not ends_nl:
                break
            good = end
    return good, header


def iter_rows(path: str | Path) -> Iterator[dict[str, str]]:
    """Raw rows of an audit CSV as dicts, skipping a torn last row."""
    with _open(path, "r") as fh:
        header: list[str] | None = None
        for record, _end, ends_nl in _records(fh):
            if header is None:
                header = record
                continue
            if len(record) != len(header) or not ends_nl:
                return
            yield dict(zip(header, record))


def read_results(path: str | Path) -> list[AuditResult]:
    """All rows of an audit CSV as :class:`AuditResult` (text un-escaped, numbers parsed).

    When a ``(root, path)`` occurs more than once the last row wins, at the first row's place.
    """
    by_key: dict[Key, AuditResult] = {}
    for row in iter_rows(path):
        result = row_to_result(row)
        by_key[(result.root, result.path)] = result
    return list(by_key.values())


def read_done(path: str | Path) -> set[Key]:
    """``(root, path)`` of every complete row of ``path`` (empty when the file does not exist)."""
    if not os.path.exists(path):
        return set()
    return {(restore(row.get("root", "")), restore(row.get("path", ""))) for row in iter_rows(path)}


def _open_locked(path: Path) -> int:
    """Open ``path`` for appending under an exclusive lock: two audits must not share a CSV."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
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
    CsvFormatError
        On resume, when the existing file has other columns than :data:`CSV_COLUMNS`.
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
            good, header = valid_length(self.path) if self.resume else (0, None)
            if good and tuple(header or ()) != CSV_COLUMNS:  # checked before anything is cut
                raise CsvFormatError(f"{self.path} has other columns than an audit CSV of this version")
            if os.fstat(fd).st_size != good:  # a torn last row, or a fresh start
                os.ftruncate(fd, good)
                os.fsync(fd)
            if good:
                self.done = read_done(self.path)
        except BaseException:
            os.close(fd)
            raise
        self._fh = os.fdopen(fd, "a", encoding=ENCODING, errors=ERRORS, newline="")
        self._writer = csv.writer(self._fh, lineterminator=LINE_END)
        if not good:
            self._writer.writerow(CSV_COLUMNS)
            self._sync()

    def write(self, result: AuditResult) -> bool:
        """Append one row; returns False (and writes nothing) when its key is already there."""
        key = (result.root, result.path)
        if key in self.done:
            return False
        self._writer.writerow(result_to_row(result))
        self._fh.flush()  # a killed process loses nothing that was written
        self.done.add(key)
        self.written += 1
        if self.written % self.fsync_every == 0:
            os.fsync(self._fh.fileno())  # and a crashed machine loses at most a few rows
        return True

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush, fsync and close (idempotent)."""
        if self._fh is not None:
            self._sync()
            self._fh.close()
            self._fh = None


def is_sorted(path: str | Path, key: Callable[[str, str], Any]) -> bool:
    """True when the rows of ``path`` are in ascending ``key(root, path)`` order."""
    previous = None
    for row in iter_rows(path):
        current = key(restore(row["root"]), restore(row["path"]))
        if previous is not None and current < previous:
            return False
        previous = current
    return True


def rewrite_sorted(path: str | Path, key: Callable[[str, str], Any]) -> int:
    """Rewrite ``path`` sorted by ``key(root, path)``, one row per key, atomically.

    The new file is written beside the old one, fsynced, then moved over it with
    :func:`os.replace`, so a crash leaves either the old or the new CSV. Returns the row count.
    """
    path = Path(path)
    rows: dict[Key, dict[str, str]] = {}
    for row in iter_rows(path):
        rows[(restore(row["root"]), restore(row["path"]))] = row
    ordered = sorted(rows.items(), key=lambda item: key(*item[0]))
    with atomic_output(path, fsync=True, encoding=ENCODING, errors=ERRORS, newline="") as fh:
        writer = csv.writer(fh, lineterminator=LINE_END)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([row.get(c, "") for c in CSV_COLUMNS] for _, row in ordered)
    return len(ordered)


def write_results(path: str | Path, results: Iterable[AuditResult]) -> int:
    """Write ``results`` to a new CSV at ``path`` (overwriting); returns the row count."""
    with CsvResultWriter(path, resume=False) as writer:
        for result in results:
            writer.write(result)
        return writer.written
