"""Culling over a finished audit CSV: fill the group columns, list the files to delete.

Grouping needs every row, so it runs after the audit, inside the final sorted rewrite
of the CSV (:func:`reports.csv_io.rewrite_sorted`): the groups are recomputed from the
``phash``, EXIF and blur columns of all rows each time, which is why a resumed audit
ends with exactly the CSV an uninterrupted one writes.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iqa.auditor.exposure import OK as OK_EXPOSURE
from iqa.auditor.grouping import Frame, Membership, assign_groups
from iqa.auditor.labels import BLURRY, SHARP
from iqa.auditor.phash import from_hex
from iqa.auditor.results import CSV_COLUMNS, GROUP_COLUMNS, OK, AuditResult
from iqa.reports import csv_io
from iqa.reports.atomic import atomic_output
from iqa.reports.csv_io import neutralise, restore


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _frame(row: dict[str, str]) -> Frame:
    ok = row.get("status") == OK
    return Frame(hash=from_hex(row.get("phash", "")) if ok else None, captured=restore(row.get("captured", "")),
                 camera=restore(row.get("camera", "")), p_blurry=_number(row.get("p_blurry", "")),
                 exposure_ok=restore(row.get("exposure", "")) in ("", OK_EXPOSURE),
                 sharpness=_number(row.get("sharpness", "")) or 0.0, over_sharpened=row.get("label") == SHARP)


def fill_groups(rows: Sequence[dict[str, str]]) -> int:
    """Set the ``group``, ``group_kind`` and ``best_in_group`` cells of raw CSV rows in place.

    Parameters
    ----------
    rows : every row of the audit, in walk order (group numbers follow it).

    Returns
    -------
    int
        The number of groups.
    """
    groups = assign_groups([_frame(row) for row in rows])
    for i, row in enumerate(rows):
        _set_cells(row, groups.get(i))
    return len({m.group for m in groups.values()})


def _set_cells(row: dict[str, str], membership: Membership | None) -> None:
    m = membership
    cells = ("", "", "") if m is None else (str(m.group), neutralise(m.kind), str(int(m.best)))
    row.update(zip(GROUP_COLUMNS, cells))


def regroup_csv(path: str | Path, key: Callable[[str, str], Any]) -> int:
    """Recompute the group columns of an audit CSV (and sort it), atomically; returns the group count.

    A CSV already in walk order (any uninterrupted run) is streamed twice: once for the
    grouping facts (a small record per file), once to write the new file, so memory stays
    O(files) records, not O(files) rows. Otherwise (after a resume) it goes through
    :func:`reports.csv_io.rewrite_sorted`, which sorts in memory.
    """
    if not csv_io.is_sorted(path, key):
        counted: list[int] = []
        csv_io.rewrite_sorted(path, key, update=lambda rows: counted.append(fill_groups(rows)))
        return counted[0]
    groups = assign_groups([_frame(row) for row in csv_io.iter_rows(path)])
    with atomic_output(Path(path), fsync=True, encoding=csv_io.ENCODING, errors=csv_io.ERRORS, newline="") as fh:
        writer = csv.writer(fh, lineterminator=csv_io.LINE_END)
        writer.writerow(CSV_COLUMNS)
        for i, row in enumerate(csv_io.iter_rows(path)):
            _set_cells(row, groups.get(i))
            writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
    return len({m.group for m in groups.values()})


def reject_reason(r: AuditResult) -> str:
    """Why ``r`` is a delete candidate ("" when it is not): blurry, or not the best frame of its group."""
    if not r.ok:
        return ""
    reasons = []
    if r.label == BLURRY:
        reasons.append("blurry")
    if r.group is not None and r.best_in_group == 0:
        reasons.append(f"not the best of {r.group_kind or 'group'} {r.group}")
    return ", ".join(reasons)


def full_path(r: AuditResult) -> str:
    """The file behind ``r`` as a shell can use it: ``root`` joined with ``path``."""
    return os.path.join(r.root, r.path) if r.root else r.path


class RejectsTargetError(ValueError):
    """The rejects list would overwrite a file that iqa did not write."""


@dataclass(frozen=True)
class RejectsWritten:
    """Outcome of :func:`write_rejects`: paths written, and names left out (line breaks in them)."""

    written: int
    skipped: int


def may_replace(path: Path, roots: Sequence[str]) -> bool:
    """True when ``path`` is missing, empty, or every record in it is a path under one of ``roots``."""
    if not path.exists():
        return True
    if not path.is_file():
        return False
    data = path.read_bytes()
    records = [r for r in data.replace(b"\0", b"\n").split(b"\n") if r]
    prefixes = tuple(os.fsencode(os.path.join(r, "")) for r in roots if r) + tuple(os.fsencode(r) for r in roots)
    return all(rec.startswith(prefixes) for rec in records)


def write_rejects(results: Iterable[AuditResult], out_path: str | Path, null: bool = False) -> RejectsWritten:
    """Write the delete candidates of an audit as a plain list of paths, atomically.

    Parameters
    ----------
    results : the audit's rows (one pass; only the candidates' names are kept).
    out_path : the list to write; replaced only when it is missing, empty or a list of
        paths under the roots of ``results`` (a previous list), so no other file is overwritten.
    null : end each path with NUL instead of a newline (for ``xargs -0``); then every name
        is written. With newlines, names holding a line break are left out and counted.

    Raises
    ------
    RejectsTargetError
        When ``out_path`` exists and is not a list this function could have written.
    """
    out_path = Path(out_path)
    names: list[bytes] = []
    roots: set[str] = set()
    for r in results:
        roots.add(r.root)
        if reject_reason(r):
            names.append(os.fsencode(full_path(r)))  # the exact bytes of the name, undecodable ones included
    if not may_replace(out_path, sorted(roots)):
        raise RejectsTargetError(f"{out_path} exists and is not a list of paths under the audited folders")
    kept = names if null else [n for n in names if b"\n" not in n and b"\r" not in n]
    end = b"\0" if null else b"\n"
    with atomic_output(out_path, mode="wb") as fh:
        fh.writelines(name + end for name in kept)
    return RejectsWritten(len(kept), len(names) - len(kept))
