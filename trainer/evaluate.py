"""Image-level evaluation of a TFLite model through the auditor's own code path (no TensorFlow).

Ground truth comes from a dataset manifest (one split) or from ``blurry/ original/ sharp/`` folder names.
The variance-of-Laplacian baseline, with its best (oracle) threshold, is scored on the same images.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from iqa.auditor.labels import LABELS
from iqa.auditor.model import blur_margin, load_model_info, softmax
from iqa.trainer import metrics
from iqa.trainer.data import ImageItem, list_items


@dataclass(frozen=True)
class ScoredImages:
    """Model outputs for labelled images, aligned by row."""

    items: tuple[ImageItem, ...]
    probs: np.ndarray  # (n, 3) calibrated probabilities, as the auditor reports them
    log_odds: np.ndarray  # (n, 3) aggregated logits up to a per-row constant, without bias or temperature
    sharpness: np.ndarray  # (n,) variance of Laplacian at analysis scale
    errors: int
    temperature: float = 1.0  # the model's image-level temperature (probabilities = softmax((z + b) / T))

    @property
    def truth(self) -> np.ndarray:
        return np.array([LABELS.index(it.label) for it in self.items], int)


def score_items(items: list[ImageItem], model_path: str | Path | None = None, workers: int = 0,
                progress: Callable[[int], None] | None = None) -> ScoredImages:
    """Run the auditor (LiteRT, int8) on each item; unreadable images are dropped and counted."""
    from iqa.auditor.pipeline import AuditConfig, audit

    info = load_model_info(model_path)
    by_path = {str(it.path.resolve()): it for it in items}
    kept, probs, sharp, errors = [], [], [], 0
    roots = [str(it.path) for it in items]
    for res in audit(roots, AuditConfig(model_path=str(info.path), workers=workers)):
        if progress:
            progress(1)
        item = by_path.get(str((Path(res.root) / res.path).resolve())) if res.root else None
        item = item or by_path.get(str(Path(res.path).resolve()))
        if item is None or res.status != "ok":
            errors += 1
            continue
        kept.append(item)
        probs.append((res.p_blurry, res.p_original, res.p_sharp))
        sharp.append(res.sharpness)
    p = np.asarray(probs, np.float64).reshape(-1, len(LABELS))
    # softmax((z + bias) / T): T * log p recovers z + bias up to a per-row constant, which no decision sees
    log_odds = np.log(np.clip(p, 1e-300, 1)) * info.temperature - np.asarray(info.bias)
    return ScoredImages(tuple(kept), p, log_odds, np.asarray(sharp, float), errors, info.temperature)


def take(scored: ScoredImages, mask: np.ndarray) -> ScoredImages:
    """The rows of ``scored`` where ``mask`` is true."""
    idx = np.flatnonzero(mask)
    return ScoredImages(tuple(scored.items[i] for i in idx), scored.probs[idx], scored.log_odds[idx],
                        scored.sharpness[idx], 0, scored.temperature)


def probabilities(scored: ScoredImages, bias: Any = None, temperature: float | None = None) -> np.ndarray:
    """Image probabilities as the auditor would report them for ``bias`` and ``temperature`` (None: the model's)."""
    if bias is None and temperature is None:
        return scored.probs
    t = scored.temperature if temperature is None else temperature
    return softmax((scored.log_odds + np.asarray(bias if bias is not None else 0.0)) / t)


def decide_with_bias(log_odds: np.ndarray, bias: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Predicted label index per row for a given bias vector."""
    return np.argmax(log_odds + np.asarray(bias), axis=1)


def scene_of(item: ImageItem) -> str:
    """Scene key for grouped scoring: the parent of the label folder plus the file-name prefix."""
    parts = item.path.parts
    top = parts[-3] if len(parts) >= 3 else ""
    prefix = re.split(r"[_-]", item.path.stem)[0]
    return f"{top}/{prefix}"


def summarize(scored: ScoredImages, bias: Any = None, temperature: float | None = None) -> dict[str, Any]:
    """Every metric the issue asks for, from scored images (``bias`` / ``temperature`` None = the model's own)."""
    truth = scored.truth
    pred = np.argmax(scored.probs, axis=1) if bias is None else decide_with_bias(scored.log_odds, bias)
    probs = probabilities(scored, bias, temperature)
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    m = metrics.confusion_matrix(truth, pred)
    is_blurry, said_blurry = truth == 0, pred == 0
    variants = np.array([it.variant for it in scored.items])
    out: dict[str, Any] = {
        "images": int(len(truth)), "errors": scored.errors, "confusion": m.tolist(),
        "per_class": metrics.per_class(m), "macro_f1": metrics.macro_f1(m),
        "accuracy": float((truth == pred).mean()) if len(truth) else 0.0,
        "blurry_balanced_accuracy": metrics.balanced_accuracy(is_blurry, said_blurry),
        "blurry_auc": metrics.roc_auc(is_blurry, blur_margin(scored.log_odds)),
        "ece": metrics.expected_calibration_error(confidence, truth == pred),
        "reliability": metrics.calibration_bins(confidence, truth == pred),
        "confident_wrong": float(((confidence >= 0.99) & (truth != pred)).mean()) if len(truth) else 0.0,
    }
    for name, mask in (("original_called_blurry", variants == "original"),
                       ("partial_called_blurry", variants == "partial")):
        if mask.any():
            out[name] = float(said_blurry[mask].mean())
    base_ba, base_t = metrics.best_threshold_accuracy(is_blurry, scored.sharpness, higher_is_positive=False)
    out["laplacian_baseline"] = {"blurry_balanced_accuracy": base_ba, "threshold": base_t,
                                 "blurry_auc": metrics.roc_auc(is_blurry, -scored.sharpness)}
    scenes: dict[str, list[bool]] = {}
    for item, ok in zip(scored.items, truth == pred):
        scenes.setdefault(scene_of(item), []).append(bool(ok))
    out["per_scene_accuracy"] = {k: float(np.mean(v)) for k, v in sorted(scenes.items())}
    return out


def evaluate(model_path: str | Path | None, target: str | Path, split: str = "test", workers: int = 0,
             progress: Callable[[int], None] | None = None) -> tuple[ScoredImages, dict[str, Any]]:
    """Score ``target`` (dataset split or labelled folder) and compute the metrics."""
    items = list_items(target, split)
    if not items:
        raise ValueError(f"no labelled images in {target} (need a manifest or blurry/ original/ sharp/ folders)")
    scored = score_items(items, model_path, workers, progress)
    return scored, summarize(scored)


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text table of a summary (for the terminal)."""
    lines = [f"images: {summary['images']}   unreadable: {summary['errors']}", "",
             f"{'class':10}{'precision':>10}{'recall':>8}{'f1':>7}{'n':>6}"]
    for name, s in summary["per_class"].items():
        lines.append(f"{name:10}{s['precision']:10.3f}{s['recall']:8.3f}{s['f1']:7.3f}{s['support']:6d}")
    lines += ["", "confusion (rows true, cols predicted: " + ", ".join(LABELS) + ")"]
    lines += ["  " + " ".join(f"{v:6d}" for v in row) for row in summary["confusion"]]
    base = summary["laplacian_baseline"]
    lines += ["", f"macro-F1: {summary['macro_f1']:.3f}   accuracy: {summary['accuracy']:.3f}",
              f"blurry vs not-blurry balanced accuracy: model {summary['blurry_balanced_accuracy']:.3f}"
              f" | variance-of-Laplacian (best threshold {base['threshold']:.1f}) {base['blurry_balanced_accuracy']:.3f}",
              f"blurry AUC: model {summary['blurry_auc']:.3f} | variance-of-Laplacian {base['blurry_auc']:.3f}",
              f"expected calibration error: {summary['ece']:.3f}   wrong with confidence >= 0.99:"
              f" {summary['confident_wrong']:.3f}"]
    for key in ("original_called_blurry", "partial_called_blurry"):
        if key in summary:
            lines.append(f"{key.replace('_', ' ')}: {summary[key]:.3f}")
    if "leave_one_scene_out" in summary:
        loso = summary["leave_one_scene_out"]
        lines.append(f"leave-one-scene-out blurry balanced accuracy: {loso['balanced_accuracy']:.3f}"
                     f" (blurry recall {loso['blurry_recall']:.3f}, not-blurry correct {loso['original_correct']:.3f})")
    if len(summary["per_scene_accuracy"]) <= 40:
        lines += ["", "accuracy per scene:"]
        lines += [f"  {k}: {v:.3f}" for k, v in summary["per_scene_accuracy"].items()]
    return "\n".join(lines)
