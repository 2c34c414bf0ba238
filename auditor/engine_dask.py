"""A Dask distributed :class:`auditor.engine.Backend`: the audit on a cluster of machines.

Items travel in batches (one task per ``batch_size`` items, so the scheduler's per-task
cost is spread over many files), a bounded number of batches is in flight, and results
come back in input order. The work function is a module-level function, pickled by
reference; what it caches per process (the model, see :func:`auditor.workers._worker_model`)
is loaded once per worker, not shipped with each task.

Faults: an item that hangs past ``timeout`` becomes ``on_failure(item, ...)`` inside its
task (the batch goes on); a worker that dies (kill -9, a crashing decoder) has its batch
rescheduled by Dask; a batch that killed ``allowed_failures + 1`` workers is split into
one task per item, so only the item that kills its worker ends as a failure. Losing the
scheduler raises :class:`ClusterLostError`. Dask is imported only when a run starts.
"""
from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from iqa.auditor.engine import DEFAULT_TIMEOUT, describe, resolve_workers

T = TypeVar("T")
R = TypeVar("R")

BATCH_SIZE = 8
BATCHES_IN_FLIGHT_PER_WORKER = 2
ALLOWED_FAILURES = 2
CONNECT_SECONDS = 30.0
# Dask's worker environment without its MALLOC_TRIM_THRESHOLD_: setting it turns off glibc's sliding
# mmap threshold, so every decoded photo's buffers are mmap'd and unmapped again (page faults, +70 % system time).
_WORKER_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}


class ClusterError(RuntimeError):
    """The Dask cluster cannot be used (dask missing, scheduler unreachable, no workers)."""


class ClusterLostError(ClusterError):
    """The scheduler went away mid-run; results yielded so far are complete and valid."""


@dataclass(frozen=True)
class DaskBackend:
    """Runs the work function on a Dask cluster, results in input order.

    Attributes
    ----------
    scheduler : address of a running scheduler (``tcp://host:8786``, ``tls://...``); None
        starts a :class:`distributed.LocalCluster` on 127.0.0.1 (processes, one thread each,
        no dashboard) for the run.
    workers : worker processes of the local cluster (0 = every available core); ignored
        with ``scheduler``.
    timeout : seconds one item may take inside its task before it becomes a failure; None
        waits forever.
    batch_size : items per task.
    batches_per_worker : batches in flight per worker thread; bounds memory and the work
        lost when the client stops.
    allowed_failures : worker deaths a batch may cause before it is split (local cluster:
        also the scheduler's ``allowed-failures``; an external scheduler uses its own).
    initializer : called in the worker before each batch (must be cheap and idempotent).
    connect_timeout : seconds to reach ``scheduler`` (and again for a first worker to join).
    """

    scheduler: str | None = None
    workers: int = 0
    timeout: float | None = DEFAULT_TIMEOUT
    batch_size: int = BATCH_SIZE
    batches_per_worker: int = BATCHES_IN_FLIGHT_PER_WORKER
    allowed_failures: int = ALLOWED_FAILURES
    initializer: Callable[[], None] | None = None
    connect_timeout: float = CONNECT_SECONDS

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T],
                    on_failure: Callable[[T, str], R]) -> Iterator[R]:
        return _dask_map(self, fn, iter(items), on_failure)


def _dask_map(spec: DaskBackend, fn: Callable[[T], R], items: Iterator[T],
              on_failure: Callable[[T, str], R]) -> Iterator[R]:
    """Submit batches through a window; yield their items in order; split batches that kill workers."""
    from iqa.auditor.procs import sigterm_as_interrupt as _sigterm_as_interrupt  # kill PID stops the run like Ctrl-C, as the local pool does

    client, cluster = _connect(spec)
    try:
        window = max(1, _threads(client) * spec.batches_per_worker)
        batches = iter(lambda: list(itertools.islice(items, spec.batch_size)), [])
        in_flight: deque[tuple[list[T], Any]] = deque()
        submit = _submitter(client, spec, fn, on_failure)
        with _sigterm_as_interrupt():
            while True:
                while len(in_flight) < window and (batch := next(batches, None)) is not None:
                    in_flight.append((batch, submit(batch)))
                if not in_flight:
                    return
                batch, future = in_flight.popleft()
                outcome = _outcome(client, spec, future)
                if outcome is not None:
                    yield from outcome
                elif len(batch) > 1:  # it killed its workers: find the item that does, alone
                    in_flight.extendleft(reversed([([item], submit([item])) for item in batch]))
                else:
                    yield on_failure(batch[0], "its worker died (crashed or killed) each time it was tried")
    finally:
        _close(client, cluster)


def _submitter(client: Any, spec: DaskBackend, fn: Callable[[T], R],
               on_failure: Callable[[T, str], R]) -> Callable[[list[T]], Any]:
    def submit(batch: list[T]) -> Any:
        return client.submit(run_batch, fn, batch, on_failure, spec.timeout, spec.initializer, pure=False,
                             retries=0)

    return submit


def _outcome(client: Any, spec: DaskBackend, future: Any) -> list[Any] | None:
    """The batch's results; None when it exhausted its worker deaths; raises when the scheduler is gone."""
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return None
    except Exception as exc:
        if _scheduler_gone(client, exc):
            raise ClusterLostError(f"lost the Dask scheduler {_address(client, spec)}: {describe(exc)}") from exc
        raise  # the work function raised: the caller's bug, as with the local engine


def _scheduler_gone(client: Any, exc: BaseException) -> bool:
    from concurrent.futures import CancelledError

    # not OSError: the work function may raise one, and that is its own error, not the cluster's
    return isinstance(exc, CancelledError) or client.status not in ("running", "connecting")


def _address(client: Any, spec: DaskBackend) -> str:
    return spec.scheduler or getattr(getattr(client, "scheduler", None), "address", "(local cluster)")


def run_batch(fn: Callable[[T], R], batch: list[T], on_failure: Callable[[T, str], R], timeout: float | None,
              initializer: Callable[[], None] | None) -> list[R]:
    """Worker side: ``fn`` over the batch in a helper thread, each item bounded by ``timeout``.

    A hung item becomes a failure and the rest of the batch runs in a fresh thread; the hung
    thread (a thread cannot be killed) is a daemon, told to stop after its item, so it never
    blocks the worker's exit. An exception raised by ``fn`` propagates.
    """
    import queue
    import threading

    if initializer is not None:
        initializer()
    if timeout is None:
        return [fn(item) for item in batch]
    results: list[R] = []
    while len(results) < len(batch):
        rest, done, abandoned = batch[len(results):], queue.Queue(), threading.Event()
        threading.Thread(target=_run_items, args=(fn, rest, done, abandoned), name="iqa-items", daemon=True).start()
        for item in rest:
            try:
                ok, value = done.get(timeout=timeout)
            except queue.Empty:
                abandoned.set()
                results.append(on_failure(item, f"no result within {timeout:g} s"))
                break
            if not ok:
                raise value
            results.append(value)
    return results


def _run_items(fn: Callable[[T], R], items: list[T], done: Any, abandoned: Any) -> None:
    for item in items:
        if abandoned.is_set():
            return
        try:
            done.put((True, fn(item)))
        except BaseException as exc:  # handed to the task's thread, which raises it
            done.put((False, exc))
            return


def _connect(spec: DaskBackend) -> tuple[Any, Any]:
    """A client of ``spec.scheduler``, or of a new loopback LocalCluster (then also returned, to close)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterError("the dask engine needs Dask distributed: pip install 'iqa[dask]'") from exc
    if spec.scheduler is not None:
        try:
            client = Client(spec.scheduler, timeout=spec.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler {spec.scheduler}: {describe(exc)}") from exc
        try:
            client.wait_for_workers(1, timeout=spec.connect_timeout)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ClusterError(f"no Dask worker joined {spec.scheduler} within {spec.connect_timeout:g} s") from exc
        return client, None
    from iqa.auditor.procs import sigint_ignored as _sigint_ignored  # workers born ignoring Ctrl-C: only this process handles it

    # saturation 1: a worker holds only the task it runs, so a death charges no queued bystander;
    # no statistical profiler (it samples every thread's stack 100 times a second, for a dashboard we do not run);
    # glibc's own malloc tuning (see _WORKER_ENVIRON)
    with _sigint_ignored(), dask.config.set({"distributed.scheduler.allowed-failures": spec.allowed_failures,
                                             "distributed.scheduler.worker-saturation": 1.0,
                                             "distributed.worker.profile.enabled": False,
                                             "distributed.nanny.pre-spawn-environ": _WORKER_ENVIRON}):
        cluster = LocalCluster(n_workers=resolve_workers(spec.workers), threads_per_worker=1, processes=True,
                               host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
    try:
        return Client(cluster, set_as_default=False), cluster
    except BaseException:
        cluster.close()
        raise


def _threads(client: Any) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # the window only sizes the queue
        return 1


def _close(client: Any, cluster: Any) -> None:
    """Stop the run's tasks and connections; never raises (the scheduler may be gone already)."""
    for close in (lambda: client.close(timeout=10), getattr(cluster, "close", None)):
        try:
            if close is not None:
                close()
        except Exception:  # a lost scheduler cannot be told goodbye
            pass
