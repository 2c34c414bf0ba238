"""One worker engine for every parallel loop: the audit, ``iqa dataset build``, training patches.

The work function is passed in, never imported here, and results come back in input order
through a :class:`Backend`. Two local backends ship: :class:`InProcess` and
:class:`ProcessPool` (a bounded window of items in flight, a per-item timeout after which
the pool is restarted and the item reported as failed, workers that never see Ctrl-C, a
shutdown that cannot hang, the "spawn" start method unless it cannot work). A distributed
backend (e.g. Dask) only needs a ``map_ordered`` method of the same shape.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from auditor.exit_codes import Terminated
from auditor.worker_life import WORKER_REIMPORT_EXIT, die_with_parent, refuse_in_bootstrapping_child

T = TypeVar("T")
R = TypeVar("R")

ITEMS_IN_FLIGHT_PER_WORKER = 4
DEFAULT_TIMEOUT = 300.0


class Backend(Protocol):
    """Runs a function over items and yields the results in input order."""

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T],
                    on_failure: Callable[[T, str], R]) -> Iterator[R]:
        """Yield ``fn(item)`` for each item, in order, pulling items lazily.

        ``fn`` must be picklable (a module-level function) for backends outside the process.
        An item whose call cannot finish (a hung or dead worker) yields
        ``on_failure(item, reason)`` instead; an exception raised by ``fn`` is re-raised.
        Closing the iterator stops the workers.
        """
        ...  # pragma: no cover


class WorkerStartError(RuntimeError):
    """The worker processes could not start."""


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity, e.g. ``taskset`` or a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int) -> int:
    """Number of worker processes for a ``workers`` setting (0 = every available core)."""
    return workers if workers > 0 else available_cores()


class InProcess:
    """Runs everything in the calling process (one worker, tests, debugging)."""

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T],
                    on_failure: Callable[[T, str], R]) -> Iterator[R]:
        return map(fn, items)


@dataclass(frozen=True)
class ProcessPool:
    """Local worker processes with a per-item timeout, crash recovery and Ctrl-C safety.

    Attributes
    ----------
    workers : number of processes (0 = every available core).
    timeout : seconds one item may take before it is reported as failed and the pool
        restarted (the other items in flight are resubmitted); None waits forever.
    initializer : called once in each worker after it is started (module-level function).
    window_per_worker : items in flight per worker; bounds memory when the consumer is slow.
    """

    workers: int = 0
    timeout: float | None = DEFAULT_TIMEOUT
    initializer: Callable[[], None] | None = None
    window_per_worker: int = ITEMS_IN_FLIGHT_PER_WORKER

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T],
                    on_failure: Callable[[T, str], R]) -> Iterator[R]:
        return _pool_map(self, fn, iter(items), on_failure)


@contextmanager
def running(results: Iterator[R]) -> Iterator[Iterator[R]]:
    """``with running(backend.map_ordered(...)) as results``: the workers stop on exit, even early."""
    try:
        yield results
    finally:
        getattr(results, "close", lambda: None)()


def local_backend(workers: int = 0, timeout: float | None = DEFAULT_TIMEOUT,
                  initializer: Callable[[], None] | None = None) -> InProcess | ProcessPool:
    """In-process for one worker, else a :class:`ProcessPool` of ``resolve_workers(workers)``."""
    n = resolve_workers(workers)
    return InProcess() if n == 1 else ProcessPool(n, timeout, initializer)


def _pool_map(spec: ProcessPool, fn: Callable[[T], R], items: Iterator[T],
              on_failure: Callable[[T, str], R]) -> Iterator[R]:
    """The :class:`ProcessPool` loop: ``apply_async`` with a window rather than ``imap``.

    A window keeps memory flat when the consumer is the bottleneck, and lets an item whose
    worker hangs or dies become a failure: the pool is restarted and the other items in
    flight are resubmitted.
    """
    import multiprocessing

    workers = resolve_workers(spec.workers)
    window = workers * spec.window_per_worker
    try:
        pool = _WorkerPool(workers, spec.initializer)
    except WorkerStartError as exc:
        import warnings

        warnings.warn(f"{exc}; working in this process instead", RuntimeWarning, stacklevel=2)
        yield from map(fn, items)
        return
    in_flight: deque[tuple[T, Any]] = deque()
    try:
        with _sigterm_as_interrupt():
            while True:
                while len(in_flight) < window and (item := next(items, _END)) is not _END:
                    in_flight.append((item, pool.submit(fn, item)))
                if not in_flight:
                    return
                item, pending = in_flight.popleft()
                try:
                    yield pending.get(spec.timeout)
                except multiprocessing.TimeoutError:
                    pool.stop()
                    pool = _WorkerPool(workers, spec.initializer)
                    for i, (other, _) in enumerate(in_flight):
                        in_flight[i] = (other, pool.submit(fn, other))
                    yield on_failure(item, f"no result within {spec.timeout:g} s")
    finally:
        pool.stop()


_END: Any = object()


def _init_worker(initializer: Callable[[], None] | None) -> None:
    """Worker start: leave Ctrl-C (and SIGTERM) to the parent, then the caller's initializer."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not inherit the parent's handler
    die_with_parent()  # a parent killed with SIGKILL cannot stop its workers
    if initializer is not None:
        initializer()


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class _WorkerPool:
    """A pool whose workers never see Ctrl-C and whose shutdown cannot hang the parent.

    Workers are born ignoring SIGINT (so even a worker still importing is immune); only
    the parent handles Ctrl-C. ``Pool.terminate`` can block forever when a worker died
    mid-message, so it runs in a helper thread and, past a grace period, the workers are
    killed and the parent moves on. A pool whose workers cannot start (they would be
    respawned forever) raises :class:`WorkerStartError` instead of hanging.
    """

    GRACE_SECONDS = 5.0
    START_SECONDS = 120.0

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None) -> None:
        import multiprocessing

        refuse_in_bootstrapping_child()
        ctx = multiprocessing.get_context(_start_method())
        self._before = set(multiprocessing.active_children())
        with _sigint_ignored():
            self._pool = ctx.Pool(workers, initializer=_init_worker, initargs=(initializer,))
        try:
            self._wait_started()
        except BaseException as exc:  # Ctrl-C included: never leave workers behind
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise WorkerStartError(f"worker processes did not start: {describe(exc)}") from exc

    def _wait_started(self) -> None:
        """Wait for one worker to answer; fail fast when the first workers exit instead."""
        import multiprocessing
        import time

        first = list(getattr(self._pool, "_pool", []))
        probe = self._pool.apply_async(os.getpid)
        deadline = time.monotonic() + self.START_SECONDS
        while True:
            try:
                probe.get(0.1)
                return
            except multiprocessing.TimeoutError:
                pass
            codes = [p.exitcode for p in first]
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


def _start_method() -> str:
    """"spawn" (no fork of a parent that runs interpreter threads), unless it cannot work.

    A spawned worker re-imports ``__main__`` by path; code read from stdin (``python -``)
    has a ``__file__`` that is no file, and every worker would die at start.
    """
    import multiprocessing
    import sys

    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None) is None:
        path = getattr(main, "__file__", None)
        if path is not None and not os.path.isfile(path) and "fork" in multiprocessing.get_all_start_methods():
            return "fork"
    return "spawn"


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
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
def _sigterm_as_interrupt() -> Iterator[None]:
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
