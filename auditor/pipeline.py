"""Streaming audit: walk, decode in worker processes, classify in the parent.

Decoding, patch selection, the Laplacian score and EXIF reading run in worker
processes (pure CPU, no shared state); the int8 model runs in ONE interpreter in
the parent, a few images' patches per invoke. Results come out in walk order, one
per file, and are never accumulated: at most a fixed window of files is in flight.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from auditor.imaging import ImageLoadError, open_image
from auditor.model import ModelError, ModelInfo, PatchClassifier, aggregate, decide, load_model_info, softmax
from auditor.patches import PatchPolicy, select_patches
from auditor.results import ERROR, OK, AuditResult, encode_patches
from auditor.sharpness import laplacian_variance
from auditor.walk import is_regular_file, iter_image_files

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

IMAGES_PER_INVOKE = 8
FILES_IN_FLIGHT_PER_WORKER = 4


class LogitsModel(Protocol):
    """Anything with the :class:`auditor.model.PatchClassifier` ``logits`` method."""

    def logits(self, patches: np.ndarray) -> np.ndarray: ...  # pragma: no cover


@dataclass(frozen=True)
class AuditConfig:
    """Settings of one audit run.

    Attributes
    ----------
    model_path : ``.tflite`` file with its ``.json`` beside it; None for the shipped model.
    workers : decoding processes; 0 uses every available core, 1 decodes in-process.
    max_side : long side of the analysis scale; None uses the model's own (recommended).
    include_hidden : also audit names starting with ``.``.
    file_timeout : seconds a worker may spend on one file before the file is reported as
        an error and the pool restarted (guards against a decoder that hangs or crashes).
    """

    model_path: str | Path | None = None
    workers: int = 0
    max_side: int | None = None
    include_hidden: bool = False
    file_timeout: float = 300.0


# --- worker side: top-level and picklable, so it works with the "spawn" start method ---


@dataclass(frozen=True)
class Task:
    """One file to analyse, with the analysis settings (sent to a worker)."""

    root: str
    path: str
    max_side: int
    policy: PatchPolicy


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

    @classmethod
    def failed(cls, task: Task, reason: str, size: int | None = None) -> Analysis:
        return cls(task.root, task.path, bytes=size, error=reason)


def init_worker() -> None:
    """Pool initializer: leave Ctrl-C to the parent and keep OpenCV single-threaded."""
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _clean_text(value: str, limit: int = 200) -> str:
    # EXIF strings come from the file: no control characters, bounded length
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()[:limit]


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def analyse_file(task: Task) -> Analysis:
    """Decode one file and extract everything the parent needs; never raises for a bad file."""
    full = os.path.join(task.root, task.path)
    size = _file_size(full)
    try:
        if not is_regular_file(full):
            raise ImageLoadError("not a regular file" if os.path.exists(full) else "file not found")
        img = open_image(full, task.max_side)
        chosen = select_patches(img.pixels, task.policy)
        sharpness = laplacian_variance(img.pixels)
    except ImageLoadError as exc:
        return Analysis.failed(task, str(exc) or "cannot decode", size)
    except Exception as exc:  # one bad file must never stop the run
        return Analysis.failed(task, _describe(exc), size)
    h, w = img.pixels.shape[:2]
    exif = {k: _clean_text(v) for k, v in img.exif.items()}
    return Analysis(task.root, task.path, size, None, img.width, img.height, _clean_text(img.format, 32), exif,
                    w, h, sharpness, chosen.patches, chosen.corners)


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int) -> int:
    """Number of decoding processes for a ``workers`` setting (0 = all cores)."""
    return workers if workers > 0 else available_cores()


def audit(roots: Iterable[str | os.PathLike[str]], config: AuditConfig = AuditConfig(),
          skip: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
          classifier: LogitsModel | None = None) -> Iterator[AuditResult]:
    """Audit every image under ``roots``, one :class:`AuditResult` per file, in walk order.

    Parameters
    ----------
    roots : directories (walked recursively) and/or single files.
    config : run settings.
    skip : ``(root, path)`` keys to leave out, e.g. rows already in a resumed CSV.
    classifier : replaces the TFLite interpreter (tests); must return float logits.

    Returns
    -------
    Iterator[AuditResult]
        Lazy: files are walked and analysed while the caller consumes results. An
        unreadable file yields a row with ``status == "error"``; it never stops the run.

    Raises
    ------
    auditor.model.ModelError
        Missing or unusable model (raised here, before any file is read).
    FileNotFoundError
        A root does not exist (raised here).
    """
    roots = [os.fspath(r) for r in roots]
    for root in roots:
        if not os.path.exists(root):
            raise FileNotFoundError(f"no such file or directory: {root}")
    info = load_model_info(config.model_path)
    model = classifier if classifier is not None else _load_classifier(info)
    return _audit_stream(roots, config, frozenset(skip), info, model)


def _load_classifier(info: ModelInfo) -> PatchClassifier:
    """Load the interpreter and run it once, so a model that does not fit its metadata fails now."""
    model = PatchClassifier(info.path, num_threads=1)
    probe = np.zeros((info.policy.count, info.policy.size, info.policy.size, 3), np.uint8)
    try:
        logits = model.logits(probe)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"model {info.path} does not accept {info.policy.size}px patches: {exc}") from exc
    if logits.shape != (info.policy.count, len(info.labels)):
        raise ModelError(f"model {info.path} returns shape {logits.shape}, expected (n, {len(info.labels)})")
    return model


def _audit_stream(roots: Sequence[str], config: AuditConfig, skip: frozenset[tuple[str, str]],
                  info: ModelInfo, model: LogitsModel) -> Iterator[AuditResult]:
    max_side = config.max_side or info.max_side
    tasks = (Task(root, path, max_side, info.policy)
             for root, path in iter_image_files(roots, config.include_hidden) if (root, path) not in skip)
    workers = resolve_workers(config.workers)
    analyses = (map(analyse_file, tasks) if workers == 1
                else _analyse_in_pool(tasks, workers, config.file_timeout))
    try:
        for group in _groups(analyses, IMAGES_PER_INVOKE):
            yield from _classify_group(group, model, info)
    finally:  # stop the pool now when the caller stops early, not at garbage collection
        getattr(analyses, "close", lambda: None)()


def _groups(items: Iterable[Analysis], size: int) -> Iterator[list[Analysis]]:
    group: list[Analysis] = []
    for item in items:
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


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
                yield pending.get(timeout)
            except multiprocessing.TimeoutError:
                pool.stop()
                pool = _WorkerPool(workers)
                for i, (other, _) in enumerate(in_flight):
                    in_flight[i] = (other, pool.submit(other))
                yield Analysis.failed(task, f"no result within {timeout:g} s (decoder hung or crashed)")
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

        ctx = multiprocessing.get_context(_start_method())
        self._before = set(multiprocessing.active_children())
        with _sigint_ignored():
            self._pool = ctx.Pool(workers, initializer=init_worker)
        try:
            self._pool.apply_async(os.getpid).get(self.START_SECONDS)
        except BaseException as exc:  # Ctrl-C included: never leave workers behind
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise WorkerStartError(f"worker processes did not start: {_describe(exc)}") from exc

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


def _classify_group(group: list[Analysis], model: LogitsModel, info: ModelInfo) -> Iterator[AuditResult]:
    ok = [a for a in group if a.error is None]
    logits = model.logits(np.concatenate([a.patches for a in ok])) if ok else np.zeros((0, 3), np.float32)
    offset = 0
    for a in group:
        if a.error is not None:
            yield _error_result(a)
            continue
        n = len(a.patches)
        yield _ok_result(a, np.asarray(logits[offset:offset + n], np.float32), info)
        offset += n


def _facts(a: Analysis) -> dict[str, Any]:
    return dict(path=a.path, root=a.root, bytes=a.bytes, width=a.width, height=a.height, format=a.format,
                camera=a.exif.get("camera", ""), lens=a.exif.get("lens", ""),
                exposure_time=a.exif.get("exposure_time", ""), focal_length=a.exif.get("focal_length", ""))


def _error_result(a: Analysis) -> AuditResult:
    return AuditResult(status=ERROR, error=a.error or "unknown error", **_facts(a))


def _ok_result(a: Analysis, patch_logits: np.ndarray, info: ModelInfo) -> AuditResult:
    probs = aggregate(patch_logits, info.bias, info.keep_fraction)
    label, confidence = decide(probs)
    p_blurry_patch = softmax(patch_logits + np.asarray(info.bias, np.float32))[:, 0]
    return AuditResult(
        status=OK, label=label, confidence=_prob(confidence),
        p_blurry=_prob(probs[0]), p_original=_prob(probs[1]), p_sharp=_prob(probs[2]),
        sharpness=round(float(a.sharpness), 3), analysis_width=a.analysis_width,
        analysis_height=a.analysis_height, patch_size=info.policy.size,
        patches=encode_patches(a.corners, p_blurry_patch), **_facts(a))


def _prob(p: Any) -> float:
    # 6 decimals: exact CSV round trip, and stable comparisons between runs
    return round(float(p), 6)


def audit_dataframe(roots: Iterable[str | os.PathLike[str]], config: AuditConfig = AuditConfig()) -> pd.DataFrame:
    """Run :func:`audit` and collect the results in a DataFrame whose columns are ``CSV_COLUMNS``.

    Parameters
    ----------
    roots : directories and/or files to audit.
    config : run settings.
    """
    import pandas as pd

    from auditor.results import CSV_COLUMNS

    return pd.DataFrame([r.as_dict() for r in audit(roots, config)], columns=list(CSV_COLUMNS))
