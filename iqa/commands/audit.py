"""``iqa audit`` and ``iqa demo``: parse, run :func:`iqa.job.audit_to_folder`, render on stderr."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from iqa.commands.common import INTERRUPTED, FatalError, echo_err, model_opt, quiet_opt, root_arg

if TYPE_CHECKING:  # pragma: no cover
    from iqa.auditor.pipeline import AuditConfig
    from iqa.auditor.results import AuditResult
    from iqa.job import AuditJob


@click.command("audit", short_help="Audit folders of photos into a CSV and an HTML report.")
@root_arg
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder for audit.csv and report.html.")
@model_opt
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Decoding processes (0 = all cores, 1 = no pool).")
@click.option("--max-side", type=click.IntRange(min=16), default=None,
              help="Long side of the analysis scale. Default: the model's.")
@click.option("--resume/--fresh", default=True, show_default=True,
              help="Keep rows already in OUT/audit.csv and audit only the other files.")
@click.option("--include-hidden", is_flag=True, help="Also audit names starting with a dot.")
@quiet_opt
@click.option("--no-report", is_flag=True, help="Write the CSV only.")
def audit_command(roots: tuple[str, ...], out_dir: Path, model: str | None, workers: int, max_side: int | None,
                  resume: bool, include_hidden: bool, quiet: bool, no_report: bool) -> None:
    """Audit every photo under ROOT... into OUT/audit.csv and OUT/report.html.

    Unreadable files get an error row; they do not change the exit status.
    """
    from iqa.auditor.pipeline import AuditConfig

    config = AuditConfig(model_path=model, workers=workers, max_side=max_side, include_hidden=include_hidden)
    run_audit(roots, out_dir, config, resume=resume, quiet=quiet, report=not no_report)


class _Progress:
    """A tqdm bar on stderr fed by the job (see :class:`iqa.job.JobProgress`)."""

    def __init__(self, shown_csv: str) -> None:
        self._shown = shown_csv
        self._bar = None

    def start(self, resumed: int, total: int) -> None:
        from tqdm import tqdm

        if resumed:
            echo_err(f"resuming: {resumed} files already in {self._shown}")
        self._bar = tqdm(total=total, unit="file", desc="auditing", file=sys.stderr, dynamic_ncols=True,
                         smoothing=0.1)

    def advance(self, result: AuditResult) -> None:
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_audit(roots: tuple[str, ...], out_dir: Path, config: AuditConfig, *, resume: bool, quiet: bool,
              report: bool) -> AuditJob:
    """Run the job, map its errors to exit statuses and print its summary (shared by audit and demo)."""
    from iqa.auditor.model import ModelError
    from iqa.auditor.walk import printable
    from iqa.job import CSV_NAME, audit_to_folder
    from iqa.reports.csv_io import CsvFormatError, CsvLockedError

    shown = printable(str(out_dir / CSV_NAME))
    try:
        with contextlib.closing(_Progress(shown)) as progress:
            job = audit_to_folder(roots, out_dir, config, resume=resume, report=report,
                                  progress=None if quiet else progress)
    except CsvLockedError as exc:
        raise FatalError(f"{exc}; wait for it to finish or choose another -o folder") from exc
    except CsvFormatError as exc:
        raise FatalError(f"{exc}; use --fresh to overwrite it or choose another -o folder") from exc
    except (ModelError, FileNotFoundError) as exc:
        raise FatalError(str(exc)) from exc
    except KeyboardInterrupt:
        echo_err(f"\ninterrupted: {shown} is valid and holds every file finished so far;"
                 " rerun the same command to resume.")
        sys.exit(INTERRUPTED)
    for warning in job.warnings:
        echo_err(f"warning: {warning}")
    if not quiet:
        _print_summary(job)
    return job


def _print_summary(job: AuditJob) -> None:
    from iqa.auditor.walk import printable

    summary = job.summary
    echo_err(f"\naudited {summary.audited} files in {summary.seconds:.1f} s ({summary.files_per_second:.1f} files/s);"
             f" {summary.files} in the CSV")
    for label, count in summary.counts.items():
        echo_err(f"  {label:<11}{count:>8}")
    echo_err(f"  {'unreadable':<11}{summary.errors:>8}")
    echo_err(f"CSV:    {printable(str(job.csv_path))}")
    if job.report_path is not None:
        echo_err(f"report: {printable(str(job.report_path))}")


@click.command("demo")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the sample photos, audit.csv and report.html.")
@model_opt
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True)
@quiet_opt
def demo_command(out_dir: Path, model: str | None, workers: int, quiet: bool) -> None:
    """Build a small folder of sample photos (some degraded, one broken) and audit it."""
    from iqa.auditor.pipeline import AuditConfig
    from iqa.auditor.walk import printable
    from iqa.dataset.demo import DemoError, build_demo_folder

    try:
        photos = build_demo_folder(out_dir / "photos")
    except DemoError as exc:
        raise FatalError(str(exc)) from exc
    if not quiet:
        echo_err(f"sample photos in {printable(str(photos))}")
    job = run_audit((str(photos),), out_dir, AuditConfig(model_path=model, workers=workers), resume=False,
                    quiet=quiet, report=True)
    if quiet:  # otherwise the end-of-run summary has just shown both paths
        click.echo(f"CSV: {printable(str(job.csv_path))}\nreport: {printable(str(job.report_path))}")
