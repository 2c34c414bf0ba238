"""The ``iqa`` console script's first module: standard library only.

It starts the audit's fork server before click and the CLI are imported (about 0.06 s), so the
server imports the workers' libraries (numpy, OpenCV, Pillow, LiteRT: the critical path of an
audit's start-up) while the parent imports its own.
"""
from __future__ import annotations

import sys


def will_start_local_workers(args: list[str]) -> bool:
    """Whether the command line ``args`` (after ``iqa``) is an ``iqa audit`` that forks local workers.

    Read before click parses anything: ``--help``, ``--workers 1`` (no pool) and
    ``--engine dask`` (remote workers) start none.
    """
    if not args or args[0] != "audit" or any(a in ("-h", "--help") for a in args):
        return False
    for option, value in zip(args, args[1:] + [""]):
        if (option, value) in (("--workers", "1"), ("--engine", "dask")) or option in ("--workers=1", "--engine=dask"):
            return False
    return True


def prestart_workers(args: list[str]) -> None:
    """Start the audit's fork server now when ``args`` will need it (see :func:`will_start_local_workers`)."""
    if will_start_local_workers(args):
        from iqa.auditor.startup import start_fork_server

        start_fork_server()


def entry() -> None:
    """``iqa``: start the fork server if the command needs one, then run the command line."""
    try:
        prestart_workers(sys.argv[1:])
    except Exception:  # the audit's pool starts the server itself, and reports a failure as the CLI does
        pass
    from iqa.cli import entry as run

    run()
