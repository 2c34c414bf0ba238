"""The culling steps of ``iqa audit`` that run after the audit: the rejects list and XMP sidecars."""
from __future__ import annotations

from pathlib import Path

from iqa.commands.common import FatalError, echo_err as _echo


def write_sidecars(csv_path: Path, out_dir: Path, beside: bool, quiet: bool) -> None:
    """Write XMP sidecars for the rows of ``csv_path``, under ``out_dir/xmp`` or beside the photos."""
    from iqa.reports import csv_io
    from iqa.reports.xmp import write_sidecars as write

    rows = (csv_io.row_to_result(r) for r in csv_io.iter_rows(csv_path))
    try:
        done = write(rows, None if beside else out_dir)
    except OSError as exc:
        raise FatalError(f"cannot write XMP sidecars: {exc}") from exc
    if not quiet:
        from iqa.auditor.display import printable

        where = "beside the photos" if beside else f"under {printable(str(out_dir / 'xmp'))}"
        _echo(f"xmp: {done.written} sidecars {where}" + (f"; {done.kept} existing ones not ours, left alone"
                                                        if done.kept else ""))


def require_rejects_target(target: Path, roots: tuple[str, ...]) -> None:
    """Refuse, before the audit starts, a --list-rejects target that is not a previous list."""
    from iqa.auditor.walk import walk_root
    from iqa.reports.culling import may_replace

    if not may_replace(target, [walk_root(r) for r in roots]):  # fail before the audit, not after it
        raise FatalError(f"{target} exists and is not a list of paths under the audited folders; not overwriting it")


def list_rejects(csv_path: Path, target: Path, null: bool, quiet: bool) -> None:
    """Write the delete candidates of ``csv_path`` to ``target`` (see reports.culling.write_rejects)."""
    from iqa.auditor.display import printable
    from iqa.reports import csv_io
    from iqa.reports.culling import RejectsTargetError, write_rejects

    try:
        done = write_rejects((csv_io.row_to_result(r) for r in csv_io.iter_rows(csv_path)), target, null)
    except (RejectsTargetError, OSError) as exc:
        raise FatalError(f"cannot write the rejects list: {exc}") from exc
    if done.skipped:
        _echo(f"warning: {done.skipped} delete candidates have a line break in their name and are not in the list;"
              " use --null to list every name")
    if not quiet:
        _echo(f"rejects: {done.written} paths in {printable(str(target))}")
