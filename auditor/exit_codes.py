"""Exit statuses of the ``iqa`` command, defined once (the README's table lists them).

A crash must never look like a verdict: ``iqa check`` exits 1 only when a file was flagged
(or is unreadable), never because something went wrong.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

OK = 0  # done; for check: nothing flagged
FLAGGED = 1  # check: a file was flagged, or is unreadable without --allow-unreadable
USAGE = 2  # bad option or argument, missing or unusable model
NO_IMAGES = 3  # check: no image found under the given paths (a gate aimed at the wrong folder)
OUTPUT = 4  # the output cannot be written: not a folder, read-only, permission, disk full
NOT_OURS = 5  # an existing audit.csv is not ours, or from other settings: refused, kept untouched
BUSY = 6  # another audit is writing the same audit.csv
CLUSTER_LOST = 7  # audit --engine dask: the scheduler went away mid-run; the CSV is valid and a rerun resumes
INTERNAL = 70  # a bug in iqa (EX_SOFTWARE); the message says how to get the traceback
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); the CSV is valid and a rerun resumes
TERMINATED = 143  # SIGTERM (128 + SIGTERM); same as Ctrl-C

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "success; for check: nothing flagged"),
    (FLAGGED, "check only: a file was flagged, or is unreadable (without --allow-unreadable)"),
    (USAGE, "usage error: bad option or argument, missing or unusable model"),
    (NO_IMAGES, "check only: no image found under the given paths"),
    (OUTPUT, "output not writable: not a folder, read-only, permission denied, disk full (the CSV stays valid)"),
    (NOT_OURS, "existing audit.csv is not an audit CSV of ours, or was written with other settings: kept untouched"),
    (BUSY, "another audit is writing the same audit.csv"),
    (CLUSTER_LOST, "audit --engine dask: the scheduler went away mid-run; the CSV is valid, rerun to resume"),
    (INTERNAL, "internal error (a bug): please report it; IQA_DEBUG=1 shows the traceback"),
    (INTERRUPTED, "interrupted by Ctrl-C (SIGINT); the CSV is valid, rerun to resume"),
    (TERMINATED, "terminated by SIGTERM; the CSV is valid, rerun to resume"),
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every clean-up path that handles Ctrl-C handles it too."""


def interrupt_code(exc: KeyboardInterrupt) -> int:
    """The exit status for an interruption: :data:`TERMINATED` for SIGTERM, else :data:`INTERRUPTED`."""
    return TERMINATED if isinstance(exc, Terminated) else INTERRUPTED


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (then is restored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        # no SIG_IGN here: a worker the pool respawns during the clean-up would inherit it and
        # then ignore the pool's own SIGTERM
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
