"""The audit CSV: its format, reading, resume checks, sorted rewrites, spreadsheet-safe text cells.

Appending rows (the lock, flushes, cutting back a failed write) is :mod:`reports.csv_writer`.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from iqa.auditor.results import COLUMN_TYPES, CSV_COLUMNS, AuditResult
from iqa.reports.atomic import atomic_output


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


class CsvNotOursError(CsvFormatError):
    """An existing file that is not provably an audit CSV (nor a torn one): never overwritten."""


class CsvLockedError(CsvFormatError):
    """Another process holds the CSV open for writing."""


class CsvWriteError(OSError):
    """A row could not be written (disk full, I/O error); the file was cut back to its complete rows."""


HEADER_LINE = (",".join(CSV_COLUMNS) + LINE_END).encode(ENCODING)
LEGACY_HEADER_START = b"path,status,"  # every version of the audit CSV starts so
STATUSES = frozenset({"ok", "error"})


def owned_length(path: str | Path) -> int:
    """Byte length of the complete rows of an audit CSV of ours at ``path``; 0 when it is empty.

    "Ours" is proven, not guessed: the first line is exactly this version's header (CRLF, or
    LF after an editor saved it; a file cut inside the header counts as empty), every complete record has one cell per column
    and a known status, and only the last record may be torn (no line end, or an open quote,
    at the end of the file: a process killed mid-row).

    Raises
    ------
    CsvNotOursError
        Anything else (another program's CSV, one line without a newline, an unbalanced
        quote before the last row, another encoding such as UTF-16).
    CsvFormatError
        An audit CSV of another version of iqa (other columns).
    """
    with open(path, "rb") as fh:
        head = fh.read(len(HEADER_LINE))
    if HEADER_LINE.startswith(head):
        return 0 if len(head) < len(HEADER_LINE) else _complete_rows_end(path, len(HEADER_LINE))
    if head.startswith(HEADER_LINE[:-2] + b"\n"):  # saved again by an editor with LF line ends
        return _complete_rows_end(path, len(HEADER_LINE) - 1)
    if head.startswith(LEGACY_HEADER_START):
        raise CsvFormatError(f"{path} has other columns than an audit CSV of this version")
    raise CsvNotOursError(f"{path} is not an audit CSV")


def _complete_rows_end(path: str | Path, start: int) -> int:
    good, size, count = start, os.path.getsize(path), 0
    status_at = CSV_COLUMNS.index("status")
    with _open(path, "r") as fh:
        fh.seek(start)
        for record, end, ends_nl in _records(fh, start=start):
            count += 1
            if not ends_nl and end == size:  # the torn last row of a killed writer
                break
            if len(record) != len(CSV_COLUMNS) or record[status_at] not in STATUSES or not ends_nl:
                raise CsvNotOursError(f"{path} is not an audit CSV (row {count} is malformed)")
            good = end
    return good


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


def _records(fh: IO[str], start: int = 0) -> Iterator[tuple[list[str], int, bool]]:
    """Yield ``(fields, end_offset, ends_with_newline)`` per CSV record, stopping at a torn one."""
    offset = start
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


def is_sorted(path: str | Path, key: Callable[[str, str], Any]) -> bool:
    """True when the rows of ``path`` are in ascending ``key(root, path)`` order."""
    previous = None
    for row in iter_rows(path):
        current = key(restore(row["root"]), restore(row["path"]))
        if previous is not None and current < previous:
            return False
        previous = current
    return True


def rewrite_sorted(path: str | Path, key: Callable[[str, str], Any],
                   update: Callable[[list[dict[str, str]]], Any] | None = None) -> int:
    """Rewrite ``path`` sorted by ``key(root, path)``, one row per key, atomically.

    The new file is written beside the old one, fsynced, then moved over it with
    :func:`os.replace`, so a crash leaves either the old or the new CSV. ``update``, when
    given, may change the raw cells of the sorted rows in place before they are written
    (grouping fills its columns this way). Returns the row count.
    """
    path = Path(path)
    rows: dict[Key, dict[str, str]] = {}
    for row in iter_rows(path):
        rows[(restore(row["root"]), restore(row["path"]))] = row
    ordered = sorted(rows.items(), key=lambda item: key(*item[0]))
    if update is not None:
        update([row for _, row in ordered])
    with atomic_output(path, fsync=True, encoding=ENCODING, errors=ERRORS, newline="") as fh:
        writer = csv.writer(fh, lineterminator=LINE_END)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([row.get(c, "") for c in CSV_COLUMNS] for _, row in ordered)
    return len(ordered)
