"""The ``iqa`` command line. Messages and progress go to stderr, data to stdout.

Every command imports its libraries inside the function, so ``iqa check`` (a
pre-commit hook) starts without loading pandas, matplotlib or jinja2.
"""
from __future__ import annotations

import click

from iqa import __version__
from iqa.commands.audit import audit_command, demo_command
from iqa.commands.check import check_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
