"""``iqa audit`` and ``iqa demo``: parse, run :func:`iqa.job.audit_to_folder`, render on stderr."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from iqa.commands.common import CLUSTER_LOST, FatalError, echo_err, model_opt, quiet_opt, url_root_arg

if TYPE_CHECKING:  # pragma: no cover
    from iqa.auditor.engine import Backend
    from iqa.auditor.pipeline import AuditConfig
    from iqa.auditor.results import AuditResult
    from iqa.job import AuditJob


@click.command("audit", short_help="Audit folders of photos into a CSV and an HTML report.")
@url_root_arg
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder for audit.csv and report.html.")
@model_opt
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Decoding processes (0 = all cores, 1 = no pool; capped at the cores).")
@click.option("--max-side", type=click.IntRange(min=16), default=None,
              help="Long side of the analysis scale. Default: the model's.")
@click.option("--resume/--fresh", default=True, show_default=True,
              help="Keep rows already in OUT/audit.csv and audit only the other files.")
@click.option("--include-hidden", is_flag=True, help="Also audit names starting with a dot.")
@quiet_opt
@click.option("--no-report", is_flag=True, help="Write the CSV only.")
@click.option("--groups/--no-groups", default=True, show_default=True,
              help="Group bursts and near-duplicates (columns group, group_kind, best_in_group).")
@click.option("--list-rejects", "rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the delete candidates (blurry, or not the best of a group), one path per line.")
@click.option("--null", "null", is_flag=True, help="End each path of --list-rejects with NUL (xargs -0).")
@click.option("--xmp", "xmp", type=click.Choice(["out", "beside"]), default=None,
              help="Write XMP sidecars (rating/label) to OUT/xmp/, or beside the photos; never over foreign ones.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: processes on this machine; dask: a Dask cluster (pip install 'iqa[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler, e.g. tcp://10.0.0.5:8786. Default: a local cluster on 127.0.0.1.")
def audit_command(roots: tuple[str, ...], out_dir: Path, model: str | None, workers: int, max_side: int | None,
                  resume: bool, include_hidden: bool, quiet: bool, no_report: bool, groups: bool,
                  rejects: Path | None, null: bool, xmp: str | None, engine: str, scheduler: str | None) -> None:
    """Audit every photo under ROOT... into OUT/audit.csv and OUT/report.html.

    A ROOT may be a folder, a file or an fsspec URL (s3://bucket/prefix, needs 'iqa[s3]').
    Unreadable files get an error row; they do not change the exit status.
    """
    if workers != 1:  # the workers' libraries load in the fork server while this process imports its own
        from iqa.auditor.startup import start_fork_server

        start_fork_server()
    from iqa.auditor.engine import available_cores
    from iqa.auditor.pipeline import AuditConfig
    from iqa.commands import cull

    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    if workers > available_cores() and engine == "local":
        echo_err(f"warning: --workers {workers} capped at the {available_cores()} available cores")
        workers = available_cores()
    config = AuditConfig(model_path=model, workers=workers, max_side=max_side, include_hidden=include_hidden)
    backend = _dask_backend(scheduler, config) if engine == "dask" else None
    if rejects is not None:
        cull.require_rejects_target(rejects, roots)
    job = run_audit(roots, out_dir, config, resume=resume, quiet=quiet, report=not no_report, groups=groups,
                    backend=backend)
    if rejects is not None:
        cull.list_rejects(job.csv_path, rejects, null, quiet)
    if xmp is not None:
        cull.write_sidecars(job.csv_path, out_dir, beside=xmp == "beside", quiet=quiet)


def _dask_backend(scheduler: str | None, config: AuditConfig) -> Backend:
    from iqa.auditor.engine_dask import DaskBackend
    from iqa.auditor.workers import init_worker

    return DaskBackend(scheduler=scheduler, workers=config.workers, timeout=config.file_timeout,
                       initializer=init_worker)


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
              report: bool, groups: bool = True, backend: Backend | None = None) -> AuditJob:
    """Run the job, map its errors to exit statuses and print its summary (shared by audit and demo)."""
    from iqa.auditor import exit_codes
    from iqa.auditor.engine_dask import ClusterError, ClusterLostError
    from iqa.auditor.model import ModelError
    from iqa.auditor.pipeline import AuditConfigError
    from iqa.auditor.display import printable
    from iqa.job import CSV_NAME, audit_to_folder
    from iqa.reports.csv_io import CsvFormatError, CsvLockedError, CsvNotOursError, CsvWriteError
    from iqa.reports.outdir import OutputError
    from iqa.reports.sidecar import SettingsMismatchError

    shown = printable(str(out_dir / CSV_NAME))
    try:
        with contextlib.closing(_Progress(shown)) as progress:
            job = audit_to_folder(roots, out_dir, config, resume=resume, report=report, groups=groups,
                                  progress=None if quiet else progress, backend=backend)
    except CsvLockedError as exc:
        raise FatalError(f"{exc}; wait for it to finish or choose another -o folder", exit_codes.BUSY) from exc
    except CsvNotOursError as exc:
        raise FatalError(f"{_shown(exc)}: refusing to overwrite it; move it away or choose another -o folder",
                         exit_codes.NOT_OURS) from exc
    except (CsvFormatError, SettingsMismatchError) as exc:
        raise FatalError(f"{_shown(exc)}; use --fresh to redo it or choose another -o folder",
                         exit_codes.NOT_OURS) from exc
    except CsvWriteError as exc:
        raise FatalError(f"{_shown(exc)}: it is valid; free space and rerun the same command to resume",
                         exit_codes.OUTPUT) from exc
    except OutputError as exc:
        raise FatalError(_shown(exc), exit_codes.OUTPUT) from exc
    except (ModelError, FileNotFoundError, AuditConfigError) as exc:
        raise FatalError(str(exc)) from exc
    except ClusterLostError as exc:
        echo_err(f"\nerror: {exc}\n{shown} is valid and holds every file finished so far;"
                 " rerun the same command to resume.")
        sys.exit(CLUSTER_LOST)
    except ClusterError as exc:
        raise FatalError(str(exc)) from exc
    except KeyboardInterrupt as exc:
        echo_err(f"\ninterrupted: {shown} is valid and holds every file finished so far;"
                 " rerun the same command to resume.")
        sys.exit(exit_codes.interrupt_code(exc))
    for warning in job.warnings:
        echo_err(f"warning: {warning}")
    if not quiet:
        _print_summary(job)
    return job


def _shown(exc: BaseException) -> str:
    """An exception's message with control characters escaped (it may hold a hostile path)."""
    from iqa.auditor.display import printable

    return printable(str(exc))


def _print_summary(job: AuditJob) -> None:
    from iqa.auditor.display import printable

    summary = job.summary
    echo_err(f"\naudited {summary.audited} files in {summary.seconds:.1f} s ({summary.files_per_second:.1f} files/s);"
             f" {summary.files} in the CSV")
    for label, count in summary.counts.items():
        echo_err(f"  {label:<11}{count:>8}")
    echo_err(f"  {'unreadable':<11}{summary.errors:>8}")
    if sum(job.skipped.values()):
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in job.skipped.items() if n)
        echo_err(f"  {'skipped':<11}{sum(job.skipped.values()):>8}  ({parts})")
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
    from iqa.auditor.display import printable
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
