"""The ``iqa`` command line. Messages and progress go to stderr, data to stdout.

Every command imports its libraries inside the function, so ``iqa check`` (a
pre-commit hook) starts without loading pandas, matplotlib or jinja2.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from auditor import __version__
from auditor import exit_codes

if TYPE_CHECKING:  # pragma: no cover
    from tqdm import tqdm

    from auditor.check import Finding
    from auditor.model import ModelInfo
    from auditor.pipeline import AuditConfig
    from auditor.results import AuditResult, AuditSummary

CSV_NAME = "audit.csv"
REPORT_NAME = "report.html"
INTERRUPTED = exit_codes.INTERRUPTED


class FatalError(click.ClickException):
    """A usage or model problem: message on stderr, exit status 2."""

    exit_code = exit_codes.USAGE

    def __init__(self, message: str, exit_code: int = exit_codes.USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _echo(message: str = "", **kwargs: Any) -> None:
    click.echo(message, err=True, **kwargs)


class _Group(click.Group):
    """Maps what no command handled to documented exit codes: a crash is never "flagged" (1)."""

    def invoke(self, ctx: click.Context) -> Any:
        import os

        try:
            with exit_codes.sigterm_as_interrupt():
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as exc:
            _echo("\ninterrupted")
            ctx.exit(exit_codes.interrupt_code(exc))
        except Exception as exc:
            if os.environ.get("IQA_DEBUG"):
                raise
            from auditor.walk import printable

            _echo(f"iqa: internal error: {type(exc).__name__}: {printable(str(exc))[:300]}"
                  " (please report it; IQA_DEBUG=1 shows the traceback)")
            ctx.exit(exit_codes.INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iqa")
def main() -> None:
    """Find blurry and over-sharpened photos with a small int8 CNN."""


def _parse_fail_on(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from auditor.labels import LABELS

    labels = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in labels if v not in LABELS]
    if bad or not labels:
        raise click.BadParameter(f"expected labels among {', '.join(LABELS)} (comma separated), got {value!r}")
    return labels


_root_arg = click.argument("roots", nargs=-1, required=True,
                           type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=str))
_model_opt = click.option("--model", "model", type=click.Path(dir_okay=False, path_type=str), default=None,
                          help="Model .tflite (its .json beside it). Default: the shipped model.")
_quiet_opt = click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")


@main.command("audit", short_help="Audit folders of photos into a CSV and an HTML report.")
@_root_arg
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder for audit.csv and report.html.")
@_model_opt
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Decoding processes (0 = all cores, 1 = no pool; capped at the cores).")
@click.option("--max-side", type=click.IntRange(min=16), default=None,
              help="Long side of the analysis scale. Default: the model's.")
@click.option("--resume/--fresh", default=True, show_default=True,
              help="Keep rows already in OUT/audit.csv and audit only the other files.")
@click.option("--include-hidden", is_flag=True, help="Also audit names starting with a dot.")
@_quiet_opt
@click.option("--no-report", is_flag=True, help="Write the CSV only.")
def audit_command(roots: tuple[str, ...], out_dir: Path, model: str | None, workers: int, max_side: int | None,
                  resume: bool, include_hidden: bool, quiet: bool, no_report: bool) -> None:
    """Audit every photo under ROOT... into OUT/audit.csv and OUT/report.html.

    Unreadable files get an error row; they do not change the exit status.
    """
    from auditor.pipeline import AuditConfig, available_cores

    if workers > available_cores():
        _echo(f"warning: --workers {workers} capped at the {available_cores()} available cores")
        workers = available_cores()
    config = AuditConfig(model_path=model, workers=workers, max_side=max_side, include_hidden=include_hidden)
    run_audit(roots, out_dir, config, resume=resume, quiet=quiet, report=not no_report)


def run_audit(roots: tuple[str, ...], out_dir: Path, config: AuditConfig, *, resume: bool, quiet: bool,
              report: bool) -> None:
    """Audit ``roots`` into ``out_dir`` with progress and summary on stderr (shared by audit and demo)."""
    import contextlib

    from auditor.model import ModelError, load_model_info
    from auditor.pipeline import AuditConfigError, audit, check_max_side
    from auditor.walk import WalkStats, printable
    from reports import csv_io
    from reports.outdir import (OutputError, SettingsMismatchError, check_settings, prepare_out_dir,
                                run_settings, write_settings)
    from reports.outdir import reason as output_reason

    try:
        info = load_model_info(config.model_path)
        check_max_side(config.max_side or info.max_side, info)
    except (ModelError, AuditConfigError) as exc:
        raise FatalError(str(exc)) from exc
    csv_path = out_dir / CSV_NAME
    shown = printable(str(csv_path))
    started = time.monotonic()
    stats = WalkStats()
    try:
        with exit_codes.sigterm_as_interrupt():
            prepare_out_dir(out_dir)
            with csv_io.CsvResultWriter(csv_path, resume=resume) as writer:
                settings = run_settings(info.path, info.name, info.version, config.max_side or info.max_side,
                                        info.policy.size)
                if writer.done:
                    check_settings(out_dir, settings)
                write_settings(out_dir, settings)
                kept = len(writer.done)
                if kept and not quiet:
                    _echo(f"resuming: {kept} files already in {shown}")
                results = audit(roots, config, skip=frozenset(writer.done), walk_stats=stats)
                with contextlib.closing(results), _progress(roots, config, writer.done, quiet) as bar:
                    for result in results:
                        writer.write(result)
                        bar.update(1)
    except csv_io.CsvLockedError as exc:
        raise FatalError(f"{exc}; wait for it to finish or choose another -o folder", exit_codes.BUSY) from exc
    except csv_io.CsvNotOursError as exc:
        raise FatalError(f"{exc}: refusing to overwrite it; move it away or choose another -o folder",
                         exit_codes.NOT_OURS) from exc
    except csv_io.CsvFormatError as exc:
        raise FatalError(f"{exc}; use --fresh to overwrite it or choose another -o folder",
                         exit_codes.NOT_OURS) from exc
    except SettingsMismatchError as exc:
        raise FatalError(f"{exc}; use --fresh to redo them or choose another -o folder",
                         exit_codes.NOT_OURS) from exc
    except csv_io.CsvWriteError as exc:
        raise FatalError(f"{exc}: it is valid; free space and rerun the same command to resume",
                         exit_codes.OUTPUT) from exc
    except OutputError as exc:
        raise FatalError(str(exc), exit_codes.OUTPUT) from exc
    except OSError as exc:  # the CSV itself: a folder, unreadable, read-only
        raise FatalError(f"cannot write {shown}: {output_reason(exc)}", exit_codes.OUTPUT) from exc
    except ModelError as exc:
        raise FatalError(str(exc)) from exc
    except KeyboardInterrupt as exc:
        _echo(f"\ninterrupted: {shown} is valid and holds every file finished so far;"
              " rerun the same command to resume.")
        sys.exit(exit_codes.interrupt_code(exc))
    elapsed = time.monotonic() - started
    try:
        with exit_codes.sigterm_as_interrupt():
            if kept:
                from auditor.walk import walk_order_key

                key = walk_order_key(roots)
                if not csv_io.is_sorted(csv_path, key):
                    csv_io.rewrite_sorted(csv_path, key)
            summary = _summary(csv_path, roots, info, elapsed, writer.written)
            html_path = _write_report(csv_path, out_dir / REPORT_NAME, summary, info) if report else None
    except OSError as exc:
        raise FatalError(f"cannot write the report in {printable(str(out_dir))}: {output_reason(exc)};"
                         f" {shown} is complete", exit_codes.OUTPUT) from exc
    except KeyboardInterrupt as exc:
        _echo(f"\ninterrupted: {shown} is complete; the report was not written.")
        sys.exit(exit_codes.interrupt_code(exc))
    if not quiet:
        _print_summary(summary, csv_path, html_path, stats)


def _progress(roots: tuple[str, ...], config: AuditConfig, done: set[tuple[str, str]], quiet: bool) -> tqdm:
    from tqdm import tqdm

    from auditor.walk import iter_image_files

    total = None if quiet else sum(1 for key in iter_image_files(roots, config.include_hidden) if key not in done)
    return tqdm(total=total, unit="file", desc="auditing", file=sys.stderr, disable=quiet, dynamic_ncols=True,
                smoothing=0.1)


def _summary(csv_path: Path, roots: tuple[str, ...], info: ModelInfo, seconds: float, audited: int) -> AuditSummary:
    from auditor.labels import LABELS
    from auditor.results import AuditSummary
    from auditor.walk import walk_root
    from reports import csv_io

    counts = dict.fromkeys(LABELS, 0)
    files = errors = 0
    for row in csv_io.iter_rows(csv_path):
        files += 1
        if row["status"] == "ok":
            counts[row["label"]] = counts.get(row["label"], 0) + 1
        else:
            errors += 1
    return AuditSummary(files=files, errors=errors, counts=counts, seconds=seconds, model_name=info.name,
                        model_version=info.version, roots=tuple(dict.fromkeys(walk_root(r) for r in roots)),
                        audited=audited)


def _write_report(csv_path: Path, html_path: Path, summary: AuditSummary, info: ModelInfo) -> Path:
    from reports import csv_io
    from reports.minimal import write_minimal_report

    def rows() -> Iterator[AuditResult]:
        return (csv_io.row_to_result(row) for row in csv_io.iter_rows(csv_path))

    try:
        from reports.html import write_audit_report
    except ImportError:
        write_audit_report = write_minimal_report
    try:
        return Path(write_audit_report(rows(), html_path, summary, info))
    except OSError:  # the folder is the problem: a plainer report would fail too
        raise
    except Exception as exc:  # the CSV is complete; a plainer report beats none
        _echo(f"warning: full HTML report failed ({type(exc).__name__}: {exc}); writing a plain one")
        return write_minimal_report(rows(), html_path, summary, info)


def _print_summary(summary: AuditSummary, csv_path: Path, html_path: Path | None, stats: Any = None) -> None:
    from auditor.walk import printable

    _echo(f"\naudited {summary.audited} files in {summary.seconds:.1f} s ({summary.files_per_second:.1f} files/s);"
          f" {summary.files} in the CSV")
    for label, count in summary.counts.items():
        _echo(f"  {label:<11}{count:>8}")
    _echo(f"  {'unreadable':<11}{summary.errors:>8}")
    if stats is not None and stats.total:
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in stats.as_dict().items() if n)
        _echo(f"  {'skipped':<11}{stats.total:>8}  ({parts})")
    _echo(f"CSV:    {printable(str(csv_path))}")
    if html_path is not None:
        _echo(f"report: {printable(str(html_path))}")


@main.command("check", short_help="Pass/fail check for pre-commit hooks and CI.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--fail-on", default="blurry", show_default=True, callback=_parse_fail_on,
              help="Comma-separated labels that fail the check, e.g. blurry,sharp.")
@click.option("--threshold", type=click.FloatRange(min=0.0, max=1.0), default=None,
              help="Fail when p of a --fail-on label is >= this, instead of using the decided label.")
@click.option("--allow-unreadable", is_flag=True, help="Unreadable files do not fail the check.")
@_model_opt
@click.option("--include-hidden", is_flag=True, help="Also check hidden files in directories.")
@_quiet_opt
@click.pass_context
def check_command(ctx: click.Context, paths: tuple[str, ...], fail_on: tuple[str, ...], threshold: float | None,
                  allow_unreadable: bool, model: str | None, include_hidden: bool, quiet: bool) -> None:
    """Exit 1 if any PATH (directories are walked) is blurry (see --fail-on) or unreadable.

    Prints one line per failing file on stdout. Exit status: 0 all good, 1 something
    flagged or unreadable, 2 usage or model error, 3 no image found.
    """
    from auditor.check import CheckConfig, run_check
    from auditor.model import ModelError

    config = CheckConfig(fail_on=fail_on, threshold=threshold, allow_unreadable=allow_unreadable,
                         model_path=model, include_hidden=include_hidden)
    try:
        report = run_check(paths, config, on_finding=_print_finding)
    except ModelError as exc:
        raise FatalError(str(exc)) from exc
    if not quiet or not report.checked:
        _echo(str(report) if report.checked else "no image found under the given paths")
    ctx.exit(report.return_code)


def _print_finding(finding: Finding) -> None:
    from auditor.walk import display_path, printable

    r = finding.result
    name = display_path(r.root, r.path)
    if finding.unreadable:
        click.echo(f"{name}: unreadable ({printable(r.error)})")
    else:
        click.echo(f"{name}: {finding.label} (p={finding.probability:.3f})")


@main.command("demo")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the sample photos, audit.csv and report.html.")
@_model_opt
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True)
@_quiet_opt
def demo_command(out_dir: Path, model: str | None, workers: int, quiet: bool) -> None:
    """Build a small folder of sample photos (some degraded, one broken) and audit it."""
    from auditor.pipeline import AuditConfig
    from auditor.walk import printable
    from dataset.demo import DemoError, build_demo_folder

    try:
        photos = build_demo_folder(out_dir / "photos")
    except DemoError as exc:
        raise FatalError(str(exc)) from exc
    if not quiet:
        _echo(f"sample photos in {printable(str(photos))}")
    run_audit((str(photos),), out_dir, AuditConfig(model_path=model, workers=workers), resume=False, quiet=quiet,
              report=True)
    if quiet:  # otherwise the end-of-run summary has just shown both paths
        click.echo(f"CSV: {printable(str(out_dir / CSV_NAME))}\nreport: {printable(str(out_dir / REPORT_NAME))}")


def _register_training_commands() -> None:
    try:
        from auditor.cli_build import TRAINING_COMMANDS
    except ImportError:  # the auditor must keep working without the training side
        return
    for command in TRAINING_COMMANDS:
        main.add_command(command)


_register_training_commands()

if __name__ == "__main__":
    main(prog_name="iqa")
