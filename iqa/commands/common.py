"""What the command modules share: the fatal-error type, stderr output and common options."""
from __future__ import annotations

from typing import Any

import click

from iqa.auditor import exit_codes

# Exit statuses: auditor/exit_codes.py (the README's table).
USAGE_OR_MODEL_ERROR = exit_codes.USAGE
INTERRUPTED = exit_codes.INTERRUPTED
CLUSTER_LOST = exit_codes.CLUSTER_LOST


class FatalError(click.ClickException):
    """A problem that stops the command: one line on stderr, a documented exit status (2 by default)."""

    exit_code = USAGE_OR_MODEL_ERROR

    def __init__(self, message: str, exit_code: int = USAGE_OR_MODEL_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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
        from iqa.auditor.walk import is_url

        if isinstance(value, str) and is_url(value):
            return value
        return click.Path(exists=True, file_okay=True, dir_okay=True, path_type=str).convert(value, param, ctx)


url_root_arg = click.argument("roots", nargs=-1, required=True, type=_RootOrUrl())
