"""Process plumbing of :class:`auditor.engine.ProcessPool`: a pool that never hangs the parent.

Workers are born ignoring Ctrl-C, the shutdown runs against a grace period, a pool whose
workers cannot start raises instead of respawning them forever, and the start method is
"spawn" unless it cannot work. Standard library and two small stdlib-only iqa modules only.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from iqa.auditor.exit_codes import Terminated
from iqa.auditor.worker_life import (WORKER_REIMPORT_EXIT, die_with_parent, refuse_in_bootstrapping_child,
                                     reuse_freed_memory)


class WorkerStartError(RuntimeError):
    """The worker processes could not start."""


def _init_worker(initializer: Callable[[], None] | None) -> None:
    """Worker start: leave Ctrl-C (and SIGTERM) to the parent, then the caller's initializer."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not inherit the parent's handler
    die_with_parent()  # a parent killed with SIGKILL cannot stop its workers
    reuse_freed_memory()
    if initializer is not None:
        initializer()


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class WorkerPool:
    """A pool whose workers never see Ctrl-C and whose shutdown cannot hang the parent.

    Workers are born ignoring SIGINT (so even a worker still importing is immune); only
    the parent handles Ctrl-C. ``Pool.terminate`` can block forever when a worker died
    mid-message, so it runs in a helper thread and, past a grace period, the workers are
    killed and the parent moves on. The pool does not wait for its workers: the caller
    submits while they start, and :meth:`wait_started` (before the first result) raises
    :class:`WorkerStartError` when none can start (they would be respawned forever).
    ``light`` and ``preload``: see :mod:`auditor.startup`.
    """

    GRACE_SECONDS = 5.0
    START_SECONDS = 120.0

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None, *, light: bool = False,
                 preload: Sequence[str] = ()) -> None:
        import multiprocessing

        from iqa.auditor.startup import light_main, start_fork_server, worker_context

        refuse_in_bootstrapping_child()
        ctx = worker_context(light, preload)
        if ctx.get_start_method() == "forkserver":
            start_fork_server(preload)
        self._before = set(multiprocessing.active_children())
        with sigint_ignored(), light_main() if light else contextlib.nullcontext():
            self._pool = ctx.Pool(workers, initializer=_init_worker, initargs=(initializer,))
        self._first = list(getattr(self._pool, "_pool", []))
        self._ping: Any = self._pool.apply_async(os.getpid)
        self._started = False

    def wait_started(self) -> None:
        """Return once a worker has answered; :class:`WorkerStartError` when none can start."""
        if self._started:
            return
        try:
            self._await_ping()
        except BaseException as exc:  # Ctrl-C included: never leave workers behind
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise WorkerStartError(f"worker processes did not start: {describe(exc)}") from exc
        self._started = True

    def _await_ping(self) -> None:
        """Wait for one worker to answer; fail fast when the first workers exit instead."""
        import multiprocessing
        import time

        deadline = time.monotonic() + self.START_SECONDS
        while True:
            try:
                self._ping.get(0.1)
                return
            except multiprocessing.TimeoutError:
                pass
            codes = [p.exitcode for p in self._first]
            if codes and all(c is not None for c in codes):
                hint = (" (the script re-runs in each worker: put its audit under"
                        " `if __name__ == \"__main__\":`)") if WORKER_REIMPORT_EXIT in codes else ""
                raise RuntimeError(f"workers exited at start with status {sorted(set(codes))}{hint}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no worker answered within {self.START_SECONDS:g} s")

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        return self._pool.apply_async(fn, (item,))

    def stop(self) -> None:
        import multiprocessing
        import threading

        stopper = threading.Thread(target=self._pool.terminate, name="iqa-pool-stop", daemon=True)
        stopper.start()
        stopper.join(self.GRACE_SECONDS)
        if stopper.is_alive():
            for proc in set(multiprocessing.active_children()) - self._before:
                proc.kill()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while workers are spawned, so they inherit "ignore" from birth.

    The window is the ``Pool()`` call only (tens of milliseconds: the workers import
    after it); a Ctrl-C pressed exactly then is lost, any later one reaches the parent.
    """
    import signal

    if not _main_thread():
        yield  # only the main thread may change signal actions
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the pool runs, SIGTERM raises KeyboardInterrupt in the parent (when nobody else handles it).

    So ``kill PID`` stops the workers and closes the caller's files as Ctrl-C does, instead
    of leaving orphaned workers behind.
    """
    import signal

    if not _main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
