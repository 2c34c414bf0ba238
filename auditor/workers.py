"""Worker side of the audit: decode, pick patches and score sharpness in separate processes.

Everything here is top-level and picklable so it works with the "spawn" start method.
The pool keeps a bounded window of files in flight, survives a hung or crashing
decoder (the file becomes an error row) and never lets Ctrl-C reach the workers.
"""
from __future__ import annotations

import dataclasses
import os
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.capture import Capture, FileTimeout, join_notes, time_limit
from auditor.worker_life import WORKER_REIMPORT_EXIT, die_with_parent, refuse_in_bootstrapping_child
from auditor.imaging import ImageLoadError, open_image
from auditor.patches import PatchPolicy, select_patches
from auditor.sharpness import laplacian_variance

FILES_IN_FLIGHT_PER_WORKER = 4
# The parent gives a worker this much longer than the per-file limit before it kills the pool:
# the worker's own timer normally reports the file first, without a restart.
POOL_TIMEOUT_MARGIN = 10.0

@dataclass(frozen=True)
class Task:
    """One file to analyse, with the analysis settings (sent to a worker)."""

    root: str
    path: str
    max_side: int
    policy: PatchPolicy
    model_path: str | None = None  # set: the worker runs the model and sends logits, not patches
    timeout: float = 0.0  # seconds one file may take (0: no limit)


@dataclass(frozen=True)
class Analysis:
    """What a worker learnt about one file; ``error`` is set when it could not be analysed."""

    root: str
    path: str
    bytes: int | None = None
    error: str | None = None
    width: int | None = None
    height: int | None = None
    format: str = ""
    exif: dict[str, str] = field(default_factory=dict)
    analysis_width: int | None = None
    analysis_height: int | None = None
    sharpness: float = 0.0
    patches: np.ndarray | None = None
    corners: np.ndarray | None = None
    logits: np.ndarray | None = None  # (n, labels) when the worker ran the model
    warnings: str = ""  # what the decoders warned about or printed, for this file only

    @classmethod
    def failed(cls, task: Task, reason: str, size: int | None = None, notes: str = "") -> Analysis:
        return cls(task.root, task.path, bytes=size, error=reason, warnings=notes)


def init_worker() -> None:
    """Pool initializer: leave Ctrl-C to the parent, die with it, keep OpenCV single-threaded."""
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    cv2.setNumThreads(1)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _clean_text(value: str, limit: int = 200) -> str:
    # EXIF strings come from the file: no control characters, bounded length
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()[:limit]


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


_CAPTURE: Capture | None = None


def analyse_file(task: Task) -> Analysis:
    """Decode one file and extract everything the parent needs; never raises for a bad file.

    Runs under the task's time limit; warnings and decoder messages on stderr are captured
    into ``Analysis.warnings`` (or the error text), never shown.
    """
    global _CAPTURE
    if _CAPTURE is None:
        _CAPTURE = Capture()
    with _CAPTURE() as notes:
        analysis = _analyse(task)
    note = join_notes(notes)
    return dataclasses.replace(analysis, warnings=note) if note else analysis


def _analyse(task: Task) -> Analysis:
    full = os.path.join(task.root, task.path)
    found = _stat(full)  # one stat gives the size and the file type
    size = found.st_size if found else None
    try:
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ImageLoadError("file not found" if found is None else "not a regular file")
        with time_limit(task.timeout):
            img = open_image(full, task.max_side)
            chosen = select_patches(img.pixels, task.policy)
            sharpness = laplacian_variance(img.pixels)
            logits = _worker_model(task.model_path).logits(chosen.patches) if task.model_path else None
    except ImageLoadError as exc:
        return Analysis.failed(task, str(exc) or "cannot decode", size)
    except FileTimeout as exc:
        return Analysis.failed(task, f"timed out: {exc}", size)
    except Exception as exc:  # one bad file must never stop the run
        return Analysis.failed(task, _describe(exc), size)
    h, w = img.pixels.shape[:2]
    exif = {k: _clean_text(v) for k, v in img.exif.items()}
    patches = None if logits is not None else chosen.patches  # logits are 1 % of the bytes to send back
    return Analysis(task.root, task.path, size, None, img.width, img.height, _clean_text(img.format, 32), exif,
                    w, h, sharpness, patches, chosen.corners, logits)


_MODELS: dict[str, Any] = {}


def _worker_model(path: str) -> Any:
    """One interpreter per worker process, loaded on its first file."""
    if path not in _MODELS:
        from auditor.model import PatchClassifier

        _MODELS[path] = PatchClassifier(path, num_threads=1)
    return _MODELS[path]


def _analyse_in_pool(tasks: Iterator[Task], workers: int, timeout: float) -> Iterator[Analysis]:
    """Run :func:`analyse_file` in a pool, in order, with a bounded window of files in flight.

    ``apply_async`` with a window (rather than ``imap``) keeps memory flat when the parent
    is the bottleneck, and lets a file whose worker hangs or dies become an error row:
    the pool is restarted and the other files in flight are resubmitted.
    """
    import multiprocessing

    window = workers * FILES_IN_FLIGHT_PER_WORKER
    try:
        pool = _WorkerPool(workers)
    except WorkerStartError as exc:
        import warnings

        warnings.warn(f"{exc}; decoding in this process instead", RuntimeWarning, stacklevel=2)
        yield from map(analyse_file, tasks)
        return
    in_flight: deque[tuple[Task, Any]] = deque()
    try:
        while True:
            while len(in_flight) < window and (task := next(tasks, None)) is not None:
                in_flight.append((task, pool.submit(task)))
            if not in_flight:
                return
            task, pending = in_flight.popleft()
            try:
                yield pending.get(timeout + POOL_TIMEOUT_MARGIN if timeout > 0 else None)
            except multiprocessing.TimeoutError:
                pool.stop()
                pool = _WorkerPool(workers)
                for i, (other, _) in enumerate(in_flight):
                    in_flight[i] = (other, pool.submit(other))
                yield Analysis.failed(task, f"timed out: no result within {timeout + POOL_TIMEOUT_MARGIN:g} s"
                                            " (decoder hung or crashed)")
    finally:
        pool.stop()


class WorkerStartError(RuntimeError):
    """The decoding processes could not start."""


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

    def __init__(self, workers: int) -> None:
        import multiprocessing

        refuse_in_bootstrapping_child()
        ctx = multiprocessing.get_context(_start_method())
        self._before = set(multiprocessing.active_children())
        with _sigint_ignored():
            self._pool = ctx.Pool(workers, initializer=init_worker)
        try:
            self._wait_started()
        except BaseException as exc:  # Ctrl-C included: never leave workers behind
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise WorkerStartError(f"worker processes did not start: {_describe(exc)}") from exc

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

    def submit(self, task: Task) -> Any:
        return self._pool.apply_async(analyse_file, (task,))

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


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while workers are spawned, so they inherit "ignore" from birth.

    The window is the ``Pool()`` call only (tens of milliseconds: the workers import
    after it); a Ctrl-C pressed exactly then is lost, any later one reaches the parent.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal actions
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

