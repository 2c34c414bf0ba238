"""The ``iqa`` command line. Messages and progress go to stderr, data to stdout.

Every command imports its libraries inside the function, so ``iqa check`` (a
pre-commit hook) starts without loading pandas, matplotlib or jinja2.
"""
from __future__ import annotations

from typing import Any

import click

from auditor import exit_codes
from iqa import __version__
from iqa.commands.audit import audit_command, demo_command
from iqa.commands.check import check_command
from iqa.commands.common import echo_err


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
            echo_err("\ninterrupted")
            ctx.exit(exit_codes.interrupt_code(exc))
        except Exception as exc:
            if os.environ.get("IQA_DEBUG"):
                raise
            from auditor.walk import printable

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

if __name__ == "__main__":
    main(prog_name="iqa")
