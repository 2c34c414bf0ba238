"""Streaming audit: walk, decode and classify in worker processes, aggregate in the parent.

Decoding, patch selection, the Laplacian score, EXIF reading and the int8 model run in
worker processes (one interpreter each, so the model's cost is spread over the cores and
only logits travel back); with one worker everything runs in-process, the model batching a
few images per invoke. Results come out in walk order, one per file, and are never
accumulated: at most a fixed window of files is in flight.
"""
from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from iqa.auditor.engine import Backend, available_cores, local_backend, resolve_workers
from iqa.auditor.labels import BLURRY
from iqa.auditor.model import ModelError, ModelInfo, PatchClassifier, aggregate, decide, load_model_info, softmax
from iqa.auditor.results import ERROR, OK, AuditResult, encode_patches
from iqa.auditor.startup import AUDIT_PRELOAD
from iqa.auditor.walk import WalkStats, iter_image_files, require_roots
from iqa.auditor.worker_life import refuse_in_bootstrapping_child
from iqa.auditor.workers import (BATCH_BYTES, BATCH_FILES, POOL_TIMEOUT_MARGIN, Analysis, Task, analyse_file, init_worker,
                             task_bytes, timed_out)

__all__ = ["AuditConfig", "audit", "audit_dataframe"]

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

IMAGES_PER_INVOKE = 8
# on_thumbnail(result, thumbnail JPEG, small thumbnail JPEG or None)
ThumbnailSink = Callable[[AuditResult, bytes, bytes | None], None]


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
    file_timeout : seconds one file may take (decode, patches, model) before it becomes an
        error row, in every mode: a timer in the decoding process, and in a pool the parent
        also restarts workers that stay silent longer (a decoder that hangs or crashes).
    in_process_up_to : when the run has at most this many files, decode in-process: a pool's
        start-up would cost more than it saves (0: decide by ``workers`` alone).
    thumbnail_side : > 0: the workers also encode a JPEG thumbnail of this long side from the
        image they decoded, handed to ``audit(on_thumbnail=...)`` (the report needs no second decode).
    small_thumbnail_side : > 0 (with ``thumbnail_side``): also a smaller thumbnail of this long side.
    """

    model_path: str | Path | None = None
    workers: int = 0
    max_side: int | None = None
    include_hidden: bool = False
    file_timeout: float = 60.0
    in_process_up_to: int = 0
    thumbnail_side: int = 0
    small_thumbnail_side: int = 0


def audit(roots: Iterable[str | os.PathLike[str]], config: AuditConfig = AuditConfig(),
          skip: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
          classifier: LogitsModel | None = None,
          files: Iterable[tuple[str, str]] | None = None, backend: Backend | None = None,
          walk_stats: WalkStats | None = None,
          on_thumbnail: ThumbnailSink | None = None) -> Iterator[AuditResult]:
    """Audit every image under ``roots``, one :class:`AuditResult` per file, in walk order.

    Parameters
    ----------
    roots : directories (walked recursively) and/or single files.
    config : run settings.
    skip : ``(root, path)`` keys to leave out, e.g. rows already in a resumed CSV.
    classifier : replaces the TFLite interpreter (tests); must return float logits.
    files : the ``(root, path)`` keys to audit, as :func:`auditor.walk.iter_image_files`
        yields them for ``roots``, when the caller has walked already (e.g. to show a
        progress total); None walks ``roots`` while results are consumed.
    backend : runs :func:`auditor.workers.analyse_file` over the files (see
        :mod:`auditor.engine`); None: in-process for one worker, else a local process pool
        of ``config.workers`` with ``config.file_timeout``. With a backend given, the
        model runs where the files are analysed (only logits travel back).
    walk_stats : counts the files the walk leaves out (hidden, not images, not regular files).
    on_thumbnail : called with a result, its thumbnail's JPEG bytes and the small thumbnail's
        (None without ``config.small_thumbnail_side``) just before the result is yielded (only
        with ``config.thumbnail_side`` set, for files that decoded).

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
    AuditConfigError
        ``max_side`` smaller than the model's patch size.
    """
    refuse_in_bootstrapping_child()  # a script without a __main__ guard, re-run by a spawned worker
    roots = [os.path.expanduser(os.fspath(r)) for r in roots]
    require_roots(roots)  # fail now: the walk itself only runs once the results are iterated
    info = load_model_info(os.path.expanduser(os.fspath(config.model_path)) if config.model_path else None)
    check_max_side(config.max_side or info.max_side, info)
    model = classifier if classifier is not None else _load_classifier(info)
    keys = files if files is not None else iter_image_files(roots, config.include_hidden, walk_stats)
    return _audit_stream(keys, config, frozenset(skip), info, model, injected=classifier is not None,
                         backend=backend, on_thumbnail=on_thumbnail)


class AuditConfigError(ValueError):
    """Settings that cannot give right verdicts (e.g. an analysis scale smaller than a patch)."""


def check_max_side(max_side: int, info: ModelInfo) -> None:
    """Raise :class:`AuditConfigError` when ``max_side`` is smaller than the model's patch."""
    if max_side < info.policy.size:
        raise AuditConfigError(f"max side {max_side} is smaller than the model's {info.policy.size}px patches")


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


def _audit_stream(keys: Iterable[tuple[str, str]], config: AuditConfig, skip: frozenset[tuple[str, str]],
                  info: ModelInfo, model: LogitsModel, injected: bool,
                  backend: Backend | None = None,
                  on_thumbnail: ThumbnailSink | None = None) -> Iterator[AuditResult]:
    max_side = config.max_side or info.max_side
    workers = min(resolve_workers(config.workers), available_cores())  # more only compete for the cores
    files = (key for key in keys if key not in skip)
    if config.in_process_up_to:  # peek at the walk instead of walking twice
        head = list(itertools.islice(files, config.in_process_up_to + 1))
        workers = 1 if len(head) <= config.in_process_up_to else workers
        files = itertools.chain(head, files)
    # With a pool, each worker runs its own interpreter: the model's cost is spread over the
    # cores and only logits travel back. In-process (or with an injected model) the parent
    # classifies a few images per invoke.
    worker_model = str(info.path) if (workers > 1 or backend is not None) and not injected else None
    tasks = (Task(root, path, max_side, info.policy, worker_model, config.file_timeout, config.thumbnail_side,
                  config.small_thumbnail_side)
             for root, path in files)
    if backend is None:
        # the worker's own timer reports a slow file first; the pool's is the backstop. The workers
        # import only auditor.workers (forked from a server that preloaded it where there is one)
        # and load the model while the parent walks
        backend = local_backend(workers, config.file_timeout + POOL_TIMEOUT_MARGIN,
                                functools.partial(init_worker, worker_model), batch_items=BATCH_FILES,
                                batch_bytes=BATCH_BYTES, item_bytes=task_bytes, light=True, preload=AUDIT_PRELOAD)
    analyses = backend.map_ordered(analyse_file, tasks, timed_out)
    try:
        # the parent batches images per invoke only when it runs the model itself; otherwise
        # every result streams out as soon as it arrives
        for group in _groups(analyses, 1 if worker_model else IMAGES_PER_INVOKE):
            for analysis, result in zip(group, _classify_group(group, model, info)):
                if on_thumbnail is not None and analysis.thumbnail is not None:
                    on_thumbnail(result, analysis.thumbnail, analysis.small_thumbnail)
                yield result
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


def _classify_group(group: list[Analysis], model: LogitsModel, info: ModelInfo) -> Iterator[AuditResult]:
    todo = [a for a in group if a.error is None and a.logits is None]
    empty = np.zeros((0, len(info.labels)), np.float32)
    logits = model.logits(np.concatenate([a.patches for a in todo])) if todo else empty
    offset = 0
    for a in group:
        if a.error is not None:
            yield _error_result(a)
        elif a.logits is not None:
            yield _ok_result(a, np.asarray(a.logits, np.float32), info)
        else:
            n = len(a.patches)
            yield _ok_result(a, np.asarray(logits[offset:offset + n], np.float32), info)
            offset += n


def _facts(a: Analysis) -> dict[str, Any]:
    return dict(path=a.path, root=a.root, bytes=a.bytes, width=a.width, height=a.height, format=a.format,
                camera=a.exif.get("camera", ""), lens=a.exif.get("lens", ""),
                exposure_time=a.exif.get("exposure_time", ""), focal_length=a.exif.get("focal_length", ""),
                captured=a.exif.get("datetime", ""), warnings=a.warnings)


def _error_result(a: Analysis) -> AuditResult:
    return AuditResult(status=ERROR, error=a.error or "unknown error", **_facts(a))


def _ok_result(a: Analysis, patch_logits: np.ndarray, info: ModelInfo) -> AuditResult:
    probs = aggregate(patch_logits, info.bias, info.keep_fraction, info.trim_fraction, info.temperature,
                      info.head)
    label, confidence = decide(probs, info.labels)
    patch_probs = softmax((patch_logits + np.asarray(info.bias, np.float32)) / info.temperature)
    p_blurry_patch = patch_probs[:, info.labels.index(BLURRY)]
    return AuditResult(
        status=OK, label=label, confidence=_prob(confidence),
        probs={name: _prob(p) for name, p in zip(info.labels, probs)},
        sharpness=round(float(a.sharpness), 3), analysis_width=a.analysis_width,
        analysis_height=a.analysis_height, patch_size=info.policy.size,
        patches=encode_patches(a.corners, p_blurry_patch), checks=a.checks, **_facts(a))


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

    from iqa.auditor.results import CSV_COLUMNS

    return pd.DataFrame([r.as_dict() for r in audit(roots, config)], columns=list(CSV_COLUMNS))
