"""The worker engine: order, timeouts with pool restart, dead workers, start failures, CPU affinity."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from iqa.auditor import engine
from iqa.auditor.engine import (InProcess, ProcessPool, available_cores, batches, local_backend, resolve_workers,
                            running)

HANGS, DIES = 3, 5


def _square_or_misbehave(x: int) -> int:
    if x == HANGS:
        threading.Event().wait()  # a decoder that never returns
    if x == DIES:
        os._exit(1)  # a decoder that takes its worker down
    return x * x


def _square(x: int) -> int:
    return x * x


def _failed(x: int, reason: str) -> str:
    return f"failed {x}: {reason}"


def _cannot_start() -> None:
    raise RuntimeError("no worker can start here")


@pytest.mark.slow
def test_hung_and_dead_workers_become_failures_and_the_pool_restarts() -> None:
    results = list(ProcessPool(2, timeout=4.0).map_ordered(_square_or_misbehave, range(8), _failed))
    expected = [x * x for x in range(8)]
    expected[HANGS] = f"failed {HANGS}: no result within 4 s"
    expected[DIES] = f"failed {DIES}: no result within 4 s"
    assert results == expected  # in order, and the items after each failure still computed


def test_workers_that_cannot_start_fall_back_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine._WorkerPool, "START_SECONDS", 3.0)
    with pytest.warns(RuntimeWarning, match="did not start.*in this process instead"):
        results = list(ProcessPool(2, initializer=_cannot_start).map_ordered(_square, range(5), _failed))
    assert results == [0, 1, 4, 9, 16]


def test_closing_early_stops_the_workers() -> None:
    import multiprocessing

    before = set(multiprocessing.active_children())
    with running(ProcessPool(2, timeout=60).map_ordered(_square, range(100), _failed)) as results:
        assert next(results) == 0
        assert set(multiprocessing.active_children()) - before
    assert not set(multiprocessing.active_children()) - before


def test_worker_count_follows_cpu_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert available_cores() == 3
    assert resolve_workers(0) == 3 and resolve_workers(7) == 7
    assert local_backend(0) == ProcessPool(3)
    assert isinstance(local_backend(1), InProcess)


def _recorded(n: int, pulled: list[int]) -> Iterator[int]:
    """0..n-1, each appended to ``pulled`` when the consumer takes it (to see how far a backend reads ahead)."""
    for i in range(n):
        pulled.append(i)
        yield i


def test_in_process_backend_keeps_order_and_laziness() -> None:
    pulled: list[int] = []
    stream = InProcess().map_ordered(_square, _recorded(5, pulled), _failed)
    assert next(stream) == 0 and pulled == [0]
    assert list(stream) == [1, 4, 9, 16]


def test_batches_close_at_a_count_or_a_weight() -> None:
    assert [len(b) for b in batches(iter(range(20)), 8)] == [8, 8, 4]
    assert [b for b in batches(iter(range(5)), 8, max_bytes=10, weight=lambda x: 4)] == [(0, 1, 2), (3, 4)]
    assert [len(b) for b in batches(iter(range(3)), 8, max_bytes=1, weight=lambda x: 5)] == [1, 1, 1]  # heavy: alone
    assert list(batches(iter(()), 8)) == []


def test_batched_pool_keeps_order_and_a_bounded_window() -> None:
    pulled: list[int] = []
    stream = ProcessPool(2, timeout=60, batch_items=4).map_ordered(_square, _recorded(60, pulled), _failed)
    assert next(stream) == 0
    assert len(pulled) <= 2 * 4 * 4 + 4  # a window of batches, not the whole input
    assert list(stream) == [x * x for x in range(1, 60)]


@pytest.mark.slow
def test_a_batch_that_times_out_is_retried_item_by_item() -> None:
    pool = ProcessPool(2, timeout=4.0, batch_items=4)
    results = list(pool.map_ordered(_square_or_misbehave, range(8), _failed))
    expected = [x * x for x in range(8)]
    expected[HANGS] = f"failed {HANGS}: no result within 4 s"
    expected[DIES] = f"failed {DIES}: no result within 4 s"
    assert results == expected  # the batch-mates of the culprits still computed, in order, once each
