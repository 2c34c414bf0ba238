"""The int8 patch classifier, run through the LiteRT interpreter (no TensorFlow).

The model maps uint8 patches to int8 *logits*; softmax is applied here after
dequantising, because a quantized softmax rounds small probabilities to zero and
spoils the image-level average.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from iqa.auditor.image_head import BlurHead, with_head_margin
from iqa.auditor.labels import LABELS, blur_margin
from iqa.auditor.model_meta import ModelError, ModelMeta, read_model_meta
from iqa.auditor.patches import PatchPolicy

__all__ = ["ModelError", "ModelInfo", "PatchClassifier", "load_model_info", "default_model_path", "metadata_path",
           "aggregate", "image_logits", "decide", "softmax", "blur_margin", "sharpest_patches"]

DEFAULT_MODEL_NAME = "default.tflite"


def default_model_path() -> Path:
    """Path of the model shipped in the ``models`` package."""
    return Path(str(resources.files("iqa.models").joinpath(DEFAULT_MODEL_NAME)))


def metadata_path(model_path: str | Path) -> Path:
    """The metadata JSON that sits beside a ``.tflite`` file."""
    return Path(model_path).with_suffix(".json")


@dataclass(frozen=True)
class ModelInfo:
    """What the auditor needs to know about a model, read from its metadata JSON."""

    path: Path
    name: str
    version: str
    labels: tuple[str, ...]
    policy: PatchPolicy
    max_side: int
    bias: tuple[float, ...]
    keep_fraction: float = 1.0
    trim_fraction: float = 0.0
    temperature: float = 1.0
    head: BlurHead | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def meta(self) -> ModelMeta:
        """The whole metadata, typed (:class:`auditor.model_meta.ModelMeta`)."""
        return ModelMeta.from_json(self.metadata, metadata_path(self.path))


def load_model_info(model_path: str | Path | None = None) -> ModelInfo:
    """Read and validate the metadata of ``model_path`` (default: the shipped model).

    Raises
    ------
    ModelError
        No model file, no metadata beside it, or metadata that fails
        :meth:`auditor.model_meta.ModelMeta.from_json` or has other labels than :data:`LABELS`.
    """
    path = Path(model_path) if model_path else default_model_path()
    if not path.is_file():
        raise ModelError(f"model not found: {path}")
    meta_file = metadata_path(path)
    meta = read_model_meta(meta_file)
    if meta.labels != LABELS:
        raise ModelError(f"model labels {meta.labels} differ from {LABELS} in {meta_file}")
    rule = meta.aggregation
    return ModelInfo(path, meta.name, meta.version, meta.labels, meta.patch_policy, meta.max_side, rule.bias,
                     rule.keep_fraction, rule.trim_fraction, rule.temperature, rule.head, meta.to_json())


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide LiteRT's C-level "INFO: Created ... delegate" line, which would break progress bars.

    Errors still surface: the interpreter reports them as Python exceptions.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real stderr (captured): nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


class PatchClassifier:
    """Runs the TFLite model on batches of uint8 patches and returns float logits."""

    def __init__(self, model_path: str | Path, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            with _native_stderr_silenced():
                self._interp = Interpreter(model_path=str(model_path), num_threads=num_threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {model_path}: {exc}") from exc
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self._batch = -1

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self._in["dtype"])

    def _prepare(self, batch: int) -> None:
        if batch != self._batch:
            shape = list(self._in["shape"])
            self._interp.resize_tensor_input(self._in["index"], [batch, *shape[1:]])
            with _native_stderr_silenced():
                self._interp.allocate_tensors()
            self._in = self._interp.get_input_details()[0]
            self._out = self._interp.get_output_details()[0]
            self._batch = batch

    def _quantize_input(self, patches: np.ndarray) -> np.ndarray:
        dtype = self.input_dtype
        if dtype == np.float32:
            return patches.astype(np.float32)
        scale, zero = self._in.get("quantization", (0.0, 0))
        if dtype == np.uint8 and (scale, zero) in ((1.0, 0), (0.0, 0)):
            return patches.astype(np.uint8, copy=False)  # the shipped model: raw pixels, no arithmetic
        info = np.iinfo(dtype)
        q = np.round(patches.astype(np.float32) / (scale or 1.0) + zero)
        return np.clip(q, info.min, info.max).astype(dtype)

    def logits(self, patches: np.ndarray) -> np.ndarray:
        """Float logits, shape (n, n_labels), for uint8 patches of shape (n, s, s, 3)."""
        if len(patches) == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        self._prepare(len(patches))
        self._interp.set_tensor(self._in["index"], self._quantize_input(patches))
        self._interp.invoke()
        raw = self._interp.get_tensor(self._out["index"])
        scale, zero = self._out.get("quantization", (0.0, 0))
        if scale:
            return (raw.astype(np.float32) - zero) * scale
        return raw.astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sharpest_patches(patch_logits: np.ndarray, keep_fraction: float, trim_fraction: float = 0.0) -> np.ndarray:
    """The patches ranked from ``trim_fraction`` to ``keep_fraction`` by :func:`blur_margin`, sharpest first.

    ``trim_fraction`` > 0 drops the few sharpest-looking patches: one crisp overlay, a clipped
    lamp's streak or a lucky edge along the shake direction cannot outvote the rest of the frame.
    """
    n = len(patch_logits)
    lo = min(int(n * trim_fraction), n - 1)
    hi = max(lo + 1, math.ceil(n * keep_fraction))
    if lo == 0 and hi >= n:
        return patch_logits
    return patch_logits[np.argsort(blur_margin(patch_logits), kind="stable")[lo:hi]]


def image_logits(patch_logits: np.ndarray, keep_fraction: float = 1.0, trim_fraction: float = 0.0,
                 head: BlurHead | None = None) -> np.ndarray:
    """Image-level logits before bias and temperature: the band's mean, its blurry margin set by ``head``."""
    if len(patch_logits) == 0:
        raise ValueError("no patches to aggregate")
    band = sharpest_patches(patch_logits, keep_fraction, trim_fraction)
    mean = band.mean(axis=0)
    return mean if head is None else with_head_margin(mean, head.margin(patch_logits, band))


def aggregate(patch_logits: np.ndarray, bias: tuple[float, ...] | np.ndarray, keep_fraction: float = 1.0,
              trim_fraction: float = 0.0, temperature: float = 1.0, head: BlurHead | None = None) -> np.ndarray:
    """Image-level probabilities: softmax of (the trimmed mean logit of the sharpest patches + bias) / temperature.

    An image is blurry only when even its sharpest-looking textured patches look blurry, so a
    sharp subject before a blurred background (bokeh) is not blurry; averaging over a band of
    the patches, rather than taking the single sharpest, keeps one outlier from deciding. The bias
    shifts the decision boundaries (calibrated at image level on real and synthetic blur) so
    that the most probable label is also the decision; the temperature (fitted at image level)
    only makes the probabilities honest, it never changes the decision. A ``head``
    (:mod:`auditor.image_head`) sets the blurry-vs-rest margin from the whole frame's patches, so
    that a few crisp patches cannot outvote a frame that looks blurry everywhere else.
    """
    z = image_logits(patch_logits, keep_fraction, trim_fraction, head)
    return softmax((z + np.asarray(bias, np.float32)) / temperature)


def decide(probs: np.ndarray, labels: tuple[str, ...] = LABELS) -> tuple[str, float]:
    """The label with the highest probability, and that probability."""
    i = int(np.argmax(probs))
    return labels[i], float(probs[i])
