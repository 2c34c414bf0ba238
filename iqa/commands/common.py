"""What the command modules share: the fatal-error type, stderr output and common options."""
from __future__ import annotations

from typing import Any

import click

# Exit statuses (README, "Commands"): 0 done, 1 something flagged (iqa check), 2 usage or model error,
# 3 the Dask scheduler went away mid-run, 130 interrupted by Ctrl-C (in both cases the CSV is valid and a rerun
# resumes).
USAGE_OR_MODEL_ERROR = 2
CLUSTER_LOST = 3
INTERRUPTED = 130


class FatalError(click.ClickException):
    """A usage or model problem: message on stderr, exit status 2."""

    exit_code = USAGE_OR_MODEL_ERROR


def echo_err(message: str = "", **kwargs: Any) -> None:
    """Messages and progress go to stderr; data to stdout."""
    click.echo(message, err=True, **kwargs)


root_arg = click.argument("roots", nargs=-1, required=True,
                          type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=str))
model_opt = click.option("--model", "model", type=click.Path(dir_okay=False, path_type=str), default=None,
                         help="Model .tflite (its .json beside it). Default: the shipped model.")
quiet_opt = click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")


class _RootOrUrl(click.ParamType):
    """An existing local path, or an fsspec URL (``s3://bucket/prefix``) checked when the run starts."""

    name = "root"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from auditor.walk import is_url

        if isinstance(value, str) and is_url(value):
            return value
        return click.Path(exists=True, file_okay=True, dir_okay=True, path_type=str).convert(value, param, ctx)


url_root_arg = click.argument("roots", nargs=-1, required=True, type=_RootOrUrl())
