"""The audit-into-a-folder job: resume, CSV, run summary and HTML report (with a plain fallback).

This is what ``iqa audit`` runs, usable without click: it never prints; warnings come back
in the :class:`AuditJob` it returns and progress goes to an optional :class:`JobProgress`.
It lives above ``auditor`` because it writes through ``reports``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iqa.auditor.engine import Backend, running
from iqa.auditor.labels import LABELS
from iqa.auditor.model import ModelInfo, load_model_info
from iqa.auditor.pipeline import AuditConfig, audit, check_max_side
from iqa.auditor.results import AuditResult, AuditSummary
from iqa.auditor.walk import WalkStats, iter_image_files, walk_order_key, walk_root
from iqa.auditor import __version__
from iqa.timing import timing
from iqa.reports import csv_io, csv_writer, sidecar
from iqa.reports.outdir import OutputError, prepare_out_dir, reason

CSV_NAME = "audit.csv"
REPORT_NAME = "report.html"


class JobProgress(Protocol):
    """Receives the job's progress (the CLI drives a tqdm bar with it)."""

    def start(self, resumed: int, total: int) -> None:
        """Called once before the first file: rows kept from an earlier run, files to audit now."""

    def advance(self, result: AuditResult) -> None:
        """Called after each row is written."""


@dataclass(frozen=True)
class AuditJob:
    """Outcome of :func:`audit_to_folder`.

    Attributes
    ----------
    csv_path : the CSV, complete, one row per file, in walk order.
    report_path : the HTML report, or None when no report was asked for.
    summary : totals of the CSV (all rows, resumed ones included) and of this run.
    resumed : rows kept from an earlier run.
    warnings : things that went wrong without failing the job (e.g. the full report failed
        and the plain one was written instead), one sentence each.
    skipped : what the walk left out, by reason (see :class:`auditor.walk.WalkStats`).
    """

    csv_path: Path
    report_path: Path | None
    summary: AuditSummary
    resumed: int
    warnings: tuple[str, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)


def audit_to_folder(roots: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                    config: AuditConfig = AuditConfig(), *, resume: bool = True, report: bool = True,
                    groups: bool = True, progress: JobProgress | None = None,
                    backend: Backend | None = None) -> AuditJob:
    """Audit ``roots`` into ``out_dir/audit.csv`` (and ``out_dir/report.html``).

    Parameters
    ----------
    roots : directories (walked recursively) and/or single files.
    out_dir : output folder, created when missing.
    config : audit settings.
    resume : keep the rows already in the CSV and audit only the other files; otherwise
        start the CSV afresh.
    report : also write the HTML report (the plain one when the full one fails).
    groups : group bursts and near-duplicates over the whole CSV (columns ``group``,
        ``group_kind``, ``best_in_group``); recomputed every run, so a resumed run ends with the
        same CSV as an uninterrupted one.
    progress : told the number of files before the run and each row as it is written;
        with it the tree is walked once, up front, to know that number.
    backend : where the files are analysed (see :mod:`auditor.engine`); None: local processes.

    Returns
    -------
    AuditJob

    Raises
    ------
    auditor.model.ModelError
        Missing or unusable model (before the output folder is touched).
    FileNotFoundError
        A root does not exist.
    auditor.pipeline.AuditConfigError
        ``max_side`` smaller than the model's patches (before the output folder is touched).
    reports.csv_io.CsvLockedError
        Another audit is writing the same CSV.
    reports.csv_io.CsvNotOursError
        The existing ``audit.csv`` is not provably an audit CSV (or is a link): kept untouched.
    reports.csv_io.CsvFormatError
        On resume, the existing CSV is not an audit CSV of this version.
    reports.sidecar.SettingsMismatchError
        On resume, the kept rows were made with another model or analysis scale.
    reports.csv_io.CsvWriteError
        A row could not be written (disk full); the CSV keeps its complete rows.
    reports.outdir.OutputError
        The output folder, the CSV or the report cannot be written (one-line reason).
    KeyboardInterrupt
        Passed on; the CSV then holds every file finished so far and a rerun resumes.
    """
    roots = tuple(os.path.expanduser(os.fspath(r)) for r in roots)
    info = load_model_info(config.model_path)
    check_max_side(config.max_side or info.max_side, info)
    out = prepare_out_dir(os.path.expanduser(os.fspath(out_dir)))
    csv_path = out / CSV_NAME
    started = time.monotonic()
    counts = dict.fromkeys(LABELS, 0)
    errors = 0
    warnings: list[str] = []
    if report and not config.thumbnail_side:  # the workers send thumbnails: the report decodes no photo again
        from iqa.reports.thumbnails import SMALL_SIDE, THUMB_SIDE

        config = dataclasses.replace(config, thumbnail_side=THUMB_SIDE, small_thumbnail_side=SMALL_SIDE)
    builder = None  # made at the first result: its imports then overlap the workers' start-up
    thumbs: dict[tuple[str, str], tuple[bytes, bytes | None]] = {}  # at most one entry: set just before its row
    stats = WalkStats()
    writer = _open_writer(csv_path, resume)
    with contextlib.closing(writer):
        resumed = len(writer.done)
        _record_run(csv_path, info, config.max_side or info.max_side, resumed, warnings)
        files = None
        if progress is not None:  # one walk, shared by the total and the audit
            files = [key for key in iter_image_files(roots, config.include_hidden, stats) if key not in writer.done]
            progress.start(resumed, len(files))
        results = audit(roots, config, skip=frozenset(writer.done), files=files, backend=backend, walk_stats=stats,
                        on_thumbnail=lambda r, jpeg, small: thumbs.__setitem__((r.root, r.path), (jpeg, small)))
        with running(results):
            for n, result in enumerate(results):
                if n == 0:
                    timing("first-result")
                    builder = _report_builder() if report else None
                thumb, small = thumbs.pop((result.root, result.path), (None, None))
                if writer.write(result):
                    if builder:
                        builder.add(result, thumb, small)
                    if result.ok:
                        counts[result.label] = counts.get(result.label, 0) + 1
                    else:
                        errors += 1
                if progress is not None:
                    progress.advance(result)
    timing("audit-done")
    elapsed = time.monotonic() - started
    files_total = writer.written
    if groups:  # needs every row; also puts a resumed CSV back in walk order
        from iqa.reports.culling import regroup_csv

        regroup_csv(csv_path, walk_order_key(roots))
    if resumed:  # the kept rows are counted, and put back in walk order, in one pass over the CSV
        files_total, errors, counts = _tally_and_sort(csv_path, roots)
    summary = AuditSummary(files=files_total, errors=errors, counts=counts, seconds=elapsed, model_name=info.name,
                           model_version=info.version, roots=tuple(dict.fromkeys(walk_root(r) for r in roots)),
                           audited=writer.written)
    try:
        html_path = (_write_report(csv_path, out / REPORT_NAME, summary, info, warnings, builder)
                     if report else None)
    except OSError as exc:
        raise OutputError(f"cannot write the report {out / REPORT_NAME}: {reason(exc)}; {csv_path} is complete") \
            from exc
    timing("report-done")
    return AuditJob(csv_path, html_path, summary, resumed, tuple(warnings), stats.as_dict())


def _open_writer(csv_path: Path, resume: bool) -> csv_writer.CsvResultWriter:
    """The CSV writer, opened: a folder, unreadable or read-only ``audit.csv`` becomes an :class:`OutputError`."""
    writer = csv_writer.CsvResultWriter(csv_path, resume=resume)
    try:
        writer.open()
    except csv_io.CsvFormatError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {csv_path}: {reason(exc)}") from exc
    return writer


def _record_run(csv_path: Path, info: ModelInfo, max_side: int, resumed: int, warnings: list[str]) -> None:
    """Write ``audit.json`` (schema version, model, scale); refuse when kept rows came from other settings.

    A CSV without a sidecar (from before sidecars) is resumed as it is.
    """
    run = sidecar.describe_run(info.name, info.version, info.path, max_side, __version__)
    before = sidecar.read_sidecar(csv_path) if resumed else None
    if before is not None and not sidecar.same_producer(before, run):
        model = before.get("model") or {}
        raise sidecar.SettingsMismatchError(
            f"the {resumed} rows in {csv_path} were made by model {model.get('name')!s}"
            f" ({str(model.get('sha256'))[:12]}) at max_side {before.get('max_side')}; this run uses"
            f" {info.name} ({run['model']['sha256'][:12]}) at max_side {max_side}")
    if not sidecar.write_sidecar(csv_path, run):
        warnings.append(f"{sidecar.sidecar_path(csv_path)} is not an iqa file: left as it is")


def _tally_and_sort(csv_path: Path, roots: tuple[str, ...]) -> tuple[int, int, dict[str, int]]:
    """Count files, errors and labels of the CSV; rewrite it in walk order when it is not."""
    key = walk_order_key(roots)
    counts = dict.fromkeys(LABELS, 0)
    files = errors = 0
    in_order, previous = True, None
    for row in csv_io.iter_rows(csv_path):
        files += 1
        if row["status"] == "ok":
            counts[row["label"]] = counts.get(row["label"], 0) + 1
        else:
            errors += 1
        current = key(csv_io.restore(row["root"]), csv_io.restore(row["path"]))
        in_order = in_order and (previous is None or current >= previous)
        previous = current
    if not in_order:
        csv_io.rewrite_sorted(csv_path, key)
    return files, errors, counts


def _report_builder() -> Any:
    """The HTML report's builder (thumbnails kept during the run); False without jinja2."""
    try:
        from iqa.reports.html import AuditReportBuilder
    except ImportError:  # the plain report needs no builder
        return False
    return AuditReportBuilder()


def _write_report(csv_path: Path, html_path: Path, summary: AuditSummary, info: ModelInfo,
                  warnings: list[str], builder: Any) -> Path:
    from iqa.reports.minimal import write_minimal_report

    def rows() -> Iterator[AuditResult]:
        return (csv_io.row_to_result(row) for row in csv_io.iter_rows(csv_path))

    if builder is None:  # no file audited in this run
        builder = _report_builder()
    if not builder:  # jinja2 missing: the plain report does without
        return write_minimal_report(rows(), html_path, summary)
    try:  # one pass over the final CSV (bursts are grouped only now), with the workers' thumbnails
        return Path(builder.write(html_path, summary, info, rows=rows()))
    except OSError:  # the folder is the problem: a plainer report would fail too
        raise
    except Exception as exc:  # the CSV is complete; a plainer report beats none
        warnings.append(f"full HTML report failed ({type(exc).__name__}: {exc}); writing a plain one")
        return write_minimal_report(rows(), html_path, summary)
