"""One worker engine for every parallel loop: the audit, ``iqa dataset build``, training patches.

The work function is passed in, never imported here, and results come back in input order
through a :class:`Backend`. Two local backends ship: :class:`InProcess` and
:class:`ProcessPool` (a bounded window of items in flight, a per-item timeout after which
the pool is restarted and the item reported as failed, optional batches of small items
per task, and from :mod:`auditor.procs` workers that never see Ctrl-C, a shutdown that
cannot hang, the "spawn" start method unless it cannot work). A distributed
backend (e.g. Dask) only needs a ``map_ordered`` method of the same shape.
"""
from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from iqa.auditor.procs import WorkerPool as _WorkerPool
from iqa.auditor.procs import WorkerStartError, describe, sigterm_as_interrupt

__all__ = ["Backend", "InProcess", "ProcessPool", "WorkerStartError", "available_cores", "batches", "describe",
           "local_backend", "resolve_workers", "running"]

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
    timeout : seconds one task (an item, or a batch of them) may take before it is reported as
        failed and the pool restarted (the other tasks in flight are resubmitted); None waits forever.
    initializer : called once in each worker after it is started (module-level function).
    window_per_worker : tasks in flight per worker; bounds memory when the consumer is slow.
    batch_items : > 1: consecutive items travel to a worker together, up to this many per task
        (one round trip for several small items); a batch that times out is retried item by
        item, so only the culprit fails.
    batch_bytes : with ``item_bytes``, a batch also closes once its items weigh this much
        (a large item goes alone).
    item_bytes : the weight of an item for ``batch_bytes`` (runs in this process, e.g. a stat).
    light : workers start with a stand-in ``__main__`` (they do not import the caller's
        script; ``fn`` must then not live in ``__main__``), see :mod:`auditor.startup`.
    preload : modules a fork server imports once for all workers (where there is one).
    """

    workers: int = 0
    timeout: float | None = DEFAULT_TIMEOUT
    initializer: Callable[[], None] | None = None
    window_per_worker: int = ITEMS_IN_FLIGHT_PER_WORKER
    batch_items: int = 1
    batch_bytes: int = 0
    item_bytes: Callable[[Any], int] | None = None
    light: bool = False
    preload: tuple[str, ...] = ()

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
                  initializer: Callable[[], None] | None = None, **options: Any) -> InProcess | ProcessPool:
    """In-process for one worker, else a :class:`ProcessPool` of ``resolve_workers(workers)``.

    ``options``: the other fields of :class:`ProcessPool` (batching, ``light``, ``preload``).
    """
    n = resolve_workers(workers)
    return InProcess() if n == 1 else ProcessPool(n, timeout, initializer, **options)


def batches(items: Iterator[T], max_items: int, max_bytes: int = 0,
            weight: Callable[[T], int] | None = None) -> Iterator[tuple[T, ...]]:
    """Consecutive items grouped until ``max_items``, or ``max_bytes`` by ``weight`` (when given)."""
    batch: list[T] = []
    size = 0
    for item in items:
        batch.append(item)
        if weight is not None and max_bytes > 0:
            size += weight(item)
        if len(batch) >= max_items or (weight is not None and 0 < max_bytes <= size):
            yield tuple(batch)
            batch, size = [], 0
    if batch:
        yield tuple(batch)


def run_batch(fn: Callable[[T], R], batch: tuple[T, ...]) -> list[R]:
    """``fn`` over a batch, in a worker (module level: picklable)."""
    return [fn(item) for item in batch]


def _pool_map(spec: ProcessPool, fn: Callable[[T], R], items: Iterator[T],
              on_failure: Callable[[T, str], R]) -> Iterator[R]:
    """The :class:`ProcessPool` loop: ``apply_async`` with a window rather than ``imap``.

    A window keeps memory flat when the consumer is the bottleneck, and lets an item whose
    worker hangs or dies become a failure: the pool is restarted, the other tasks in flight
    are resubmitted and a batch that timed out goes again item by item.
    """
    import multiprocessing

    workers = resolve_workers(spec.workers)
    window = workers * spec.window_per_worker
    tasks = batches(items, max(1, spec.batch_items), spec.batch_bytes, spec.item_bytes)
    task_fn = functools.partial(run_batch, fn)
    in_flight: deque[tuple[tuple[T, ...], Any]] = deque()
    pool = _WorkerPool(workers, spec.initializer, light=spec.light, preload=spec.preload)
    try:
        with sigterm_as_interrupt():
            while True:  # the workers start while the first tasks are queued
                while len(in_flight) < window and (task := next(tasks, None)) is not None:
                    in_flight.append((task, pool.submit(task_fn, task)))
                if not in_flight:
                    return
                pool.wait_started()
                task, pending = in_flight.popleft()
                try:
                    yield from pending.get(spec.timeout)
                except multiprocessing.TimeoutError:
                    pool.stop()
                    pool = _WorkerPool(workers, spec.initializer, light=spec.light, preload=spec.preload)
                    for i, (other, _) in enumerate(in_flight):
                        in_flight[i] = (other, pool.submit(task_fn, other))
                    if len(task) > 1:  # retried one by one: only the item that hangs becomes a failure
                        for item in reversed(task):
                            in_flight.appendleft(((item,), pool.submit(task_fn, (item,))))
                    else:
                        yield on_failure(task[0], f"no result within {spec.timeout:g} s")
    except WorkerStartError as exc:
        import warnings

        warnings.warn(f"{exc}; working in this process instead", RuntimeWarning, stacklevel=2)
        for task, _ in in_flight:
            yield from run_batch(fn, task)
        for task in tasks:
            yield from run_batch(fn, task)
    finally:
        pool.stop()
