"""Glue between training/evaluation results and the HTML/PNG report writer in ``reports``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.labels import LABELS
from iqa.auditor.model import softmax
from iqa.trainer import metrics
from iqa.trainer.evaluate import ScoredImages

GALLERY = 24


def _most_confident_mistakes(truth: np.ndarray, probs: np.ndarray, limit: int = GALLERY) -> list[int]:
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != truth)
    return [int(i) for i in wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:limit]]


def write_run_report(run_dir: str | Path, dataset: str | Path, config: Any) -> Path:
    """Curves, validation confusion matrix and misclassified patches of a training run."""
    import keras

    from iqa.reports.training import write_training_report
    from iqa.trainer.data import load_split_patches
    from iqa.trainer.train import MODEL_FILE, read_history

    run_dir = Path(run_dir)
    model = keras.models.load_model(run_dir / MODEL_FILE)
    _, val = load_split_patches(dataset, "val", config.policy, config.max_side)
    probs = softmax(model.predict(val.x.astype(np.float32), batch_size=512, verbose=0))
    m = metrics.confusion_matrix(val.y, probs.argmax(1))
    wrong = _most_confident_mistakes(val.y, probs)
    gallery = [(val.x[i], LABELS[val.y[i]], LABELS[int(probs[i].argmax())], float(probs[i].max())) for i in wrong]
    summary = {"val_patch_accuracy": float((probs.argmax(1) == val.y).mean()), "val_macro_f1": metrics.macro_f1(m)}
    return write_training_report(run_dir, history=read_history(run_dir), confusion=m, misclassified=gallery,
                                 metrics=summary, title=f"Training run {run_dir.name}")


def write_evaluation_report(out: Path, scored: ScoredImages, summary: dict[str, Any], model_name: str) -> Path:
    """Confusion matrix, headline metrics and misclassified images of an evaluation."""
    from iqa.reports.training import write_training_report

    gallery = []
    for i in _most_confident_mistakes(scored.truth, scored.probs):
        try:
            thumb = open_image(scored.items[i].path, 160).pixels
        except ImageLoadError:
            continue
        pred = int(scored.probs[i].argmax())
        gallery.append((thumb, scored.items[i].label, LABELS[pred], float(scored.probs[i, pred])))
    headline = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
    headline["laplacian_baseline_balanced_accuracy"] = summary["laplacian_baseline"]["blurry_balanced_accuracy"]
    return write_training_report(out, confusion=np.asarray(summary["confusion"]), misclassified=gallery,
                                 metrics=headline, title=f"Evaluation of {model_name}")
