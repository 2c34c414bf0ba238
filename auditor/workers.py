"""Worker side of the audit: decode, pick patches and score sharpness in separate processes.

Everything here is top-level and picklable so it works with the "spawn" start method;
:mod:`auditor.engine` runs :func:`analyse_file` over the files (a hung or crashing decoder
makes the file an error row, see :func:`timed_out`).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iqa.auditor.engine import describe as _describe
from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.patches import PatchPolicy, select_patches
from iqa.auditor.registry import measure_all
from iqa.auditor.sharpness import laplacian_variance


@dataclass(frozen=True)
class Task:
    """One file to analyse, with the analysis settings (sent to a worker)."""

    root: str
    path: str
    max_side: int
    policy: PatchPolicy
    model_path: str | None = None  # set: the worker runs the model and sends logits, not patches


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
    checks: dict[str, Any] = field(default_factory=dict)  # columns of the registered image checks

    @classmethod
    def failed(cls, task: Task, reason: str, size: int | None = None) -> Analysis:
        return cls(task.root, task.path, bytes=size, error=reason)


def init_worker() -> None:
    """Worker initializer: keep OpenCV single-threaded (the processes share the cores)."""
    import cv2

    cv2.setNumThreads(1)


def timed_out(task: Task, reason: str) -> Analysis:
    """The error row of a file whose worker gave no result (the engine's ``on_failure``)."""
    return Analysis.failed(task, f"{reason} (decoder hung or crashed)")


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _clean_text(value: str, limit: int = 200) -> str:
    # EXIF strings come from the file: no control characters, bounded length
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()[:limit]


def analyse_file(task: Task) -> Analysis:
    """Decode one file and extract everything the parent needs; never raises for a bad file."""
    full = os.path.join(task.root, task.path)
    found = _stat(full)  # one stat gives the size and the file type
    size = found.st_size if found else None
    try:
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ImageLoadError("file not found" if found is None else "not a regular file")
        img = open_image(full, task.max_side)
        chosen = select_patches(img.pixels, task.policy)
        sharpness = laplacian_variance(img.pixels)
        checks = measure_all(img.pixels)
        logits = _worker_model(task.model_path).logits(chosen.patches) if task.model_path else None
    except ImageLoadError as exc:
        return Analysis.failed(task, str(exc) or "cannot decode", size)
    except Exception as exc:  # one bad file must never stop the run
        return Analysis.failed(task, _describe(exc), size)
    h, w = img.pixels.shape[:2]
    exif = {k: _clean_text(v) for k, v in img.exif.items()}
    patches = None if logits is not None else chosen.patches  # logits are 1 % of the bytes to send back
    return Analysis(task.root, task.path, size, None, img.width, img.height, _clean_text(img.format, 32), exif,
                    w, h, sharpness, patches, chosen.corners, logits, checks)


_MODELS: dict[str, Any] = {}


def _worker_model(path: str) -> Any:
    """One interpreter per worker process, loaded on its first file."""
    if path not in _MODELS:
        from iqa.auditor.model import PatchClassifier

        _MODELS[path] = PatchClassifier(path, num_threads=1)
    return _MODELS[path]
