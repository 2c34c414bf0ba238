"""``iqa check``: the pass/fail gate for pre-commit hooks and CI (exit 0, 1, 2 or 3)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from iqa.commands.common import FatalError, echo_err, model_opt, quiet_opt

if TYPE_CHECKING:  # pragma: no cover
    from iqa.auditor.check import Finding


def _parse_fail_on(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from iqa.auditor.check import FAIL_ON_CHOICES

    labels = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in labels if v not in FAIL_ON_CHOICES]
    if bad or not labels:
        raise click.BadParameter(f"expected names among {', '.join(FAIL_ON_CHOICES)} (comma separated), got {value!r}")
    return labels


@click.command("check", short_help="Pass/fail check for pre-commit hooks and CI.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--fail-on", default="blurry", show_default=True, callback=_parse_fail_on,
              help="Comma-separated labels or checks that fail the check, e.g. blurry,sharp,exposure.")
@click.option("--threshold", type=click.FloatRange(min=0.0, max=1.0), default=None,
              help="Fail when p of a --fail-on label is >= this, instead of using the decided label.")
@click.option("--allow-unreadable", is_flag=True, help="Unreadable files do not fail the check.")
@model_opt
@click.option("--include-hidden", is_flag=True, help="Also check hidden files in directories.")
@quiet_opt
@click.pass_context
def check_command(ctx: click.Context, paths: tuple[str, ...], fail_on: tuple[str, ...], threshold: float | None,
                  allow_unreadable: bool, model: str | None, include_hidden: bool, quiet: bool) -> None:
    """Exit 1 if any PATH (directories are walked) is blurry (see --fail-on) or unreadable.

    Prints one line per failing file on stdout. Exit status: 0 all good, 1 something
    flagged or unreadable, 2 usage or model error, 3 no image found.
    """
    from iqa.auditor.check import CheckConfig, run_check
    from iqa.auditor.model import ModelError

    config = CheckConfig(fail_on=fail_on, threshold=threshold, allow_unreadable=allow_unreadable,
                         model_path=model, include_hidden=include_hidden)
    try:
        report = run_check(paths, config, on_finding=_print_finding)
    except ModelError as exc:
        raise FatalError(str(exc)) from exc
    if not quiet or not report.checked:
        echo_err(str(report) if report.checked else "no image found under the given paths")
    ctx.exit(report.return_code)


def _print_finding(finding: Finding) -> None:
    from iqa.auditor.check import EXPOSURE
    from iqa.auditor.display import display_path, printable

    r = finding.result
    name = display_path(r.root, r.path)
    if finding.unreadable:
        click.echo(f"{name}: unreadable ({printable(r.error)})")
    elif finding.label.startswith(EXPOSURE):
        click.echo(f"{name}: {finding.label} (score={finding.probability:.3f})")
    else:
        click.echo(f"{name}: {finding.label} (p={finding.probability:.3f})")
