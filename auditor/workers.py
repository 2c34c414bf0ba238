"""Worker side of the audit: decode, pick patches and score sharpness in separate processes.

Everything here is top-level and picklable so it works with the "spawn" start method;
:mod:`auditor.engine` runs :func:`analyse_file` over the files (a hung or crashing decoder
makes the file an error row, see :func:`timed_out`).
"""
from __future__ import annotations

import dataclasses
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iqa.auditor.capture import Capture, FileTimeout, join_notes, time_limit
from iqa.auditor.engine import describe as _describe
from iqa.auditor.imaging import ImageLoadError, open_image, shrink_to_side
from iqa.auditor.patches import PatchPolicy, select_patches
from iqa.auditor.registry import measure_all
from iqa.auditor.sharpness import laplacian_variance, to_grey
from iqa.auditor.walk import is_url

THUMB_QUALITY = 72
# Small files travel in batches: at 640x480 one round trip through the pool costs a third of the
# file's own work. A batch closes at this many bytes of files (a 7 MP JPEG goes alone) or files.
BATCH_BYTES = 1_000_000
BATCH_FILES = 8


@dataclass(frozen=True)
class Task:
    """One file to analyse, with the analysis settings (sent to a worker)."""

    root: str
    path: str
    max_side: int
    policy: PatchPolicy
    model_path: str | None = None  # set: the worker runs the model and sends logits, not patches
    timeout: float = 0.0  # seconds one file may take (0: no limit)
    thumb_side: int = 0  # > 0: also send a JPEG thumbnail of the analysed image with this long side
    small_thumb_side: int = 0  # > 0 (and < thumb_side): also a second, smaller one, made from the first


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
    warnings: str = ""  # what the decoders warned about or printed, for this file only
    thumbnail: bytes | None = None  # JPEG of the analysed image, long side ``Task.thumb_side``
    small_thumbnail: bytes | None = None  # the same, long side ``Task.small_thumb_side``

    @classmethod
    def failed(cls, task: Task, reason: str, size: int | None = None) -> Analysis:
        return cls(task.root, task.path, bytes=size, error=reason)


# The parent gives a worker this much longer than the per-file limit before it kills the pool:
# the worker's own timer normally reports the file first, without a restart.
POOL_TIMEOUT_MARGIN = 10.0


def init_worker(model_path: str | None = None) -> None:
    """Worker initializer: keep OpenCV single-threaded (the processes share the cores), load the model.

    Loading the model here, while the parent is still walking, takes it off the first file.
    """
    import cv2

    cv2.setNumThreads(1)
    if model_path is not None:
        try:
            _worker_model(model_path)
        except Exception:  # pragma: no cover - the parent has probed the model; its files report it
            pass


def thumbnail_jpegs(pixels: np.ndarray, side: int, small_side: int = 0,
                    quality: int = THUMB_QUALITY) -> tuple[bytes, bytes | None]:
    """JPEG bytes of ``pixels`` (RGB) scaled to a long side of at most ``side`` and, when
    ``small_side`` > 0, to ``small_side`` too (None otherwise).

    Under a millisecond from a 1024 px analysis image, encoding included; the small one is
    area-averaged from the large one's pixels (a tenth of a millisecond). The report then
    decodes no photo again.
    """
    thumb = thumbnail_pixels(pixels, side)
    small = encode_jpeg(shrink_to_side(thumb, small_side), quality) if small_side > 0 else None
    return encode_jpeg(thumb, quality), small


def thumbnail_pixels(pixels: np.ndarray, side: int) -> np.ndarray:
    """``pixels`` scaled to a long side of at most ``side``: bilinear halving (at exactly 2x it is
    the 2x2 mean, the same pixels as area averaging at a fifth of its cost), then one bilinear
    step of less than 2x."""
    import cv2

    while max(pixels.shape[:2]) >= 2 * side:
        h, w = pixels.shape[:2]
        pixels = cv2.resize(pixels, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
    h, w = pixels.shape[:2]
    if max(h, w) > side:
        scale = side / max(h, w)
        pixels = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))),
                            interpolation=cv2.INTER_LINEAR)
    return pixels


def encode_jpeg(pixels: np.ndarray, quality: int = THUMB_QUALITY) -> bytes:
    """JPEG bytes of RGB ``pixels``."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only fails on invalid input
        raise ValueError("thumbnail encoding failed")
    return buf.tobytes()


def task_bytes(task: Task) -> int:
    """Size of the task's file (0 when it cannot be read): the weight of a pool batch."""
    found = _stat(os.path.join(task.root, task.path))
    return found.st_size if found else 0


def timed_out(task: Task, reason: str) -> Analysis:
    """The error row of a file whose worker gave no result (the engine's ``on_failure``)."""
    return Analysis.failed(task, f"timed out: {reason} (decoder hung or crashed)")


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _clean_text(value: str, limit: int = 200) -> str:
    # EXIF strings come from the file: no control characters, bounded length
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()[:limit]


_CAPTURE: Capture | None = None


def analyse_file(task: Task) -> Analysis:
    """Decode one file and extract everything the parent needs; never raises for a bad file.

    Runs under the task's time limit; warnings and decoder messages on stderr are captured
    into ``Analysis.warnings``, never shown.
    """
    global _CAPTURE
    if _CAPTURE is None:
        _CAPTURE = Capture()
    with _CAPTURE() as notes:
        analysis = _analyse(task)
    note = join_notes(notes)
    return dataclasses.replace(analysis, warnings=note) if note else analysis


def _fetch(task: Task) -> tuple[io.BytesIO, int]:
    """The bytes of a file under a URL root, as a file object for the decoder, and their count."""
    from iqa.auditor.remote import RemoteReadError, read_file

    try:
        data = read_file(task.root, task.path)
    except RemoteReadError as exc:
        raise ImageLoadError(str(exc)) from exc
    return io.BytesIO(data), len(data)


def _analyse(task: Task) -> Analysis:
    size = None
    try:
        with time_limit(task.timeout):
            if is_url(task.root):  # object storage: this worker fetches the bytes itself
                source, size = _fetch(task)
            else:
                source = os.path.join(task.root, task.path)
                found = _stat(source)  # one stat gives the size and the file type
                size = found.st_size if found else None
                if found is None or not stat.S_ISREG(found.st_mode):
                    raise ImageLoadError("file not found" if found is None else "not a regular file")
            img = open_image(source, task.max_side)
            grey = to_grey(img.pixels)  # one conversion for the patches, the sharpness and the checks
            chosen = select_patches(img.pixels, task.policy, grey)
            sharpness = laplacian_variance(grey)
            checks = measure_all(img.pixels, grey)
            logits = _worker_model(task.model_path).logits(chosen.patches) if task.model_path else None
            thumb, small = (thumbnail_jpegs(img.pixels, task.thumb_side, task.small_thumb_side)
                            if task.thumb_side > 0 else (None, None))
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
                    w, h, sharpness, patches, chosen.corners, logits, checks, thumbnail=thumb,
                    small_thumbnail=small)


_MODELS: dict[str, Any] = {}


def _worker_model(path: str) -> Any:
    """One interpreter per worker process, loaded on its first file."""
    if path not in _MODELS:
        from iqa.auditor.model import PatchClassifier

        _MODELS[path] = PatchClassifier(_local_model_path(path), num_threads=1)
    return _MODELS[path]


def _local_model_path(path: str) -> str:
    """``path``, or this machine's copy of the shipped model when ``path`` is the client's copy of it.

    A worker on another machine may have the package installed elsewhere; a model of the
    user's own (``--model``) must be at the same path on every worker (a shared filesystem).
    """
    from iqa.auditor.model import default_model_path

    shipped = default_model_path()
    client_copy = Path(path)
    if not client_copy.exists() and (client_copy.parent.name, client_copy.name) == (shipped.parent.name, shipped.name):
        return str(shipped)
    return path
