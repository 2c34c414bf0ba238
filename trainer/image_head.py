"""Fit the image-level blur head (:mod:`auditor.image_head`) on a labelled split, at image level.

Binary logistic regression, blurry vs not, over the standardised head features, with an L2
penalty (``C`` as in scikit-learn: larger = weaker) and Newton steps, so the fit is exact and
deterministic without another dependency. Bokeh-like partial blur (label original) is weighted
``partial_weight`` times, the same concern as the false-alarm cap of ``trainer.calibrate``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from iqa.auditor.image_head import BlurHead, head_features
from iqa.auditor.labels import BLURRY, LABELS
from iqa.auditor.model import PatchClassifier, sharpest_patches
from iqa.auditor.patches import PatchPolicy
from iqa.trainer.data import ImageItem, extract_patches


@dataclass(frozen=True)
class HeadConfig:
    """How the head is fitted (chosen with ``benchmarks/compare_aggregation.py --head``; README)."""

    c: float = 1.0
    partial_weight: float = 3.0
    iterations: int = 50


def patch_logits_per_image(items: list[ImageItem], model_path: str | Path, policy: PatchPolicy, max_side: int,
                           progress: Callable[[int], None] | None = None) -> tuple[list[ImageItem], list[np.ndarray]]:
    """Every readable item and its patches' logits, cut and classified exactly as the auditor does."""
    data = extract_patches(items, policy, max_side, progress=progress)
    clf = PatchClassifier(model_path)
    logits = np.concatenate([clf.logits(data.x[i:i + 512]) for i in range(0, len(data.x), 512)]) \
        if len(data.x) else np.zeros((0, len(LABELS)), np.float32)
    kept = [int(i) for i in dict.fromkeys(data.image.tolist())]
    return [items[i] for i in kept], [logits[data.image == i] for i in kept]


def _newton_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float, iterations: int) -> np.ndarray:
    """Minimise c * sum(w * logloss) + |beta[1:]|^2 / 2 over beta (intercept first, not penalised)."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) / c
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -30, 30)))
        grad = xb.T @ (w * (p - y)) + penalty @ beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + penalty + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def fit_blur_head(items: Sequence[ImageItem], patch_logits: Sequence[np.ndarray], keep_fraction: float,
                  trim_fraction: float = 0.0, config: HeadConfig = HeadConfig()) -> BlurHead:
    """The head that best separates blurry ``items`` from the rest, given each item's patch logits."""
    if not items:
        raise ValueError("no images to fit the head on")
    x = np.array([head_features(lg, sharpest_patches(lg, keep_fraction, trim_fraction)) for lg in patch_logits])
    y = np.array([it.label == BLURRY for it in items], float)
    if y.min() == y.max():
        raise ValueError("the head needs blurry and non-blurry images")
    weight = np.array([config.partial_weight if it.variant == "partial" else 1.0 for it in items])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    beta = _newton_logistic((x - mean) / scale, y, weight, config.c, config.iterations)
    record: dict[str, Any] = {"images": len(items), "blurry": int(y.sum()), "c": config.c,
                              "partial_weight": config.partial_weight}
    return BlurHead(tuple(mean.tolist()), tuple(scale.tolist()), tuple(beta[1:].tolist()), float(beta[0]),
                    training=record)
