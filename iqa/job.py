"""The audit-into-a-folder job: resume, CSV, run summary and HTML report (with a plain fallback).

This is what ``iqa audit`` runs, usable without click: it never prints; warnings come back
in the :class:`AuditJob` it returns and progress goes to an optional :class:`JobProgress`.
It lives above ``auditor`` because it writes through ``reports``.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from iqa.auditor.engine import Backend, running
from iqa.auditor.labels import LABELS
from iqa.auditor.model import ModelInfo, load_model_info
from iqa.auditor.pipeline import AuditConfig, audit
from iqa.auditor.results import AuditResult, AuditSummary
from iqa.auditor.walk import iter_image_files, walk_order_key, walk_root
from iqa.auditor import __version__
from iqa.reports import csv_io, sidecar

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
    """

    csv_path: Path
    report_path: Path | None
    summary: AuditSummary
    resumed: int
    warnings: tuple[str, ...] = ()


def audit_to_folder(roots: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                    config: AuditConfig = AuditConfig(), *, resume: bool = True, report: bool = True,
                    progress: JobProgress | None = None, backend: Backend | None = None) -> AuditJob:
    """Audit ``roots`` into ``out_dir/audit.csv`` (and ``out_dir/report.html``).

    Parameters
    ----------
    roots : directories (walked recursively) and/or single files.
    out_dir : output folder, created when missing.
    config : audit settings.
    resume : keep the rows already in the CSV and audit only the other files; otherwise
        start the CSV afresh.
    report : also write the HTML report (the plain one when the full one fails).
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
    reports.csv_io.CsvLockedError
        Another audit is writing the same CSV.
    reports.csv_io.CsvFormatError
        On resume, the existing CSV is not an audit CSV of this version.
    KeyboardInterrupt
        Passed on; the CSV then holds every file finished so far and a rerun resumes.
    """
    roots = tuple(os.fspath(r) for r in roots)
    info = load_model_info(config.model_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / CSV_NAME
    started = time.monotonic()
    counts = dict.fromkeys(LABELS, 0)
    errors = 0
    warnings: list[str] = []
    with csv_io.CsvResultWriter(csv_path, resume=resume) as writer:
        resumed = len(writer.done)
        _record_run(csv_path, info, config.max_side or info.max_side, resumed, warnings)
        files = None
        if progress is not None:  # one walk, shared by the total and the audit
            files = [key for key in iter_image_files(roots, config.include_hidden) if key not in writer.done]
            progress.start(resumed, len(files))
        with running(audit(roots, config, skip=frozenset(writer.done), files=files, backend=backend)) as results:
            for result in results:
                if writer.write(result):
                    if result.ok:
                        counts[result.label] = counts.get(result.label, 0) + 1
                    else:
                        errors += 1
                if progress is not None:
                    progress.advance(result)
    elapsed = time.monotonic() - started
    files_total = writer.written
    if resumed:  # the kept rows are counted, and put back in walk order, in one pass over the CSV
        files_total, errors, counts = _tally_and_sort(csv_path, roots)
    summary = AuditSummary(files=files_total, errors=errors, counts=counts, seconds=elapsed, model_name=info.name,
                           model_version=info.version, roots=tuple(dict.fromkeys(walk_root(r) for r in roots)),
                           audited=writer.written)
    html_path = _write_report(csv_path, out / REPORT_NAME, summary, info, warnings) if report else None
    return AuditJob(csv_path, html_path, summary, resumed, tuple(warnings))


def _record_run(csv_path: Path, info: ModelInfo, max_side: int, resumed: int, warnings: list[str]) -> None:
    """Write ``audit.json`` (schema version, model, scale); warn when kept rows came from another model."""
    run = sidecar.describe_run(info.name, info.version, info.path, max_side, __version__)
    before = sidecar.read_sidecar(csv_path) if resumed else None
    if before is not None and not sidecar.same_producer(before, run):
        model = before.get("model") or {}
        warnings.append(f"the {resumed} rows kept from the earlier run were made by model {model.get('name')!s} "
                        f"({str(model.get('sha256'))[:12]}) at max side {before.get('max_side')}; this run uses "
                        f"{info.name} ({run['model']['sha256'][:12]}) at {max_side}: use --fresh to redo them")
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


def _write_report(csv_path: Path, html_path: Path, summary: AuditSummary, info: ModelInfo,
                  warnings: list[str]) -> Path:
    from iqa.reports.minimal import write_minimal_report

    def rows() -> Iterator[AuditResult]:
        return (csv_io.row_to_result(row) for row in csv_io.iter_rows(csv_path))

    try:
        from iqa.reports.html import write_audit_report
    except ImportError:  # jinja2 or matplotlib missing: the plain report needs neither
        return write_minimal_report(rows(), html_path, summary)
    try:
        return Path(write_audit_report(rows(), html_path, summary, info))
    except Exception as exc:  # the CSV is complete; a plainer report beats none
        warnings.append(f"full HTML report failed ({type(exc).__name__}: {exc}); writing a plain one")
        return write_minimal_report(rows(), html_path, summary)
