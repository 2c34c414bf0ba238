"""The ``iqa`` command line. Messages and progress go to stderr, data to stdout.

Every command imports its libraries inside the function, so ``iqa check`` (a
pre-commit hook) starts without loading pandas, matplotlib or jinja2.
"""
from __future__ import annotations

from typing import Any

import click

from iqa.auditor import exit_codes
from iqa import __version__
from iqa.commands.audit import audit_command, demo_command
from iqa.commands.check import check_command
from iqa.commands.common import echo_err
from iqa.launch import prestart_workers


class _Group(click.Group):
    """Maps what no command handled to documented exit codes: a crash is never "flagged" (1)."""

    def invoke(self, ctx: click.Context) -> Any:
        import os

        try:
            with exit_codes.sigterm_as_interrupt():
                # a no-op after iqa.launch.entry; kept for callers of main() without it (tests, scripts)
                prestart_workers([*ctx.protected_args, *ctx.args])
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as exc:
            echo_err("\ninterrupted")
            ctx.exit(exit_codes.interrupt_code(exc))
        except Exception as exc:
            if os.environ.get("IQA_DEBUG"):
                raise
            from iqa.auditor.display import printable

            echo_err(f"iqa: internal error: {type(exc).__name__}: {printable(str(exc))[:300]}"
                     " (please report it; IQA_DEBUG=1 shows the traceback)")
            ctx.exit(exit_codes.INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iqa")
def main() -> None:
    """Find blurry and over-sharpened photos with a small int8 CNN."""


for _command in (audit_command, check_command, demo_command):
    main.add_command(_command)


def _register_training_commands() -> None:
    try:
        from iqa.commands.training import TRAINING_COMMANDS
    except ImportError:  # the auditor must keep working without the training side
        return
    for command in TRAINING_COMMANDS:
        main.add_command(command)


_register_training_commands()


def entry() -> None:
    """Run the command (after :func:`iqa.launch.entry`, the console script), flush, and exit without
    interpreter teardown.

    Every file is closed and every worker stopped by then; tearing down the modules and
    collecting the objects of a run (numpy, OpenCV, the model) only costs time.
    """
    import os
    import sys

    from iqa.timing import timing

    try:
        main(prog_name="iqa")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    timing("exit")
    if code in (exit_codes.INTERRUPTED, exit_codes.TERMINATED):
        # an interrupted pool may still be referenced (by the traceback): a full teardown runs its
        # finalizers, so no semaphore is left for the resource tracker to warn about
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    entry()
