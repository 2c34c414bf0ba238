"""Image-level metrics (pure numpy): confusion, precision/recall/F1, balanced accuracy, AUC, baselines.

Defined once here, in the base package, for ``trainer`` (evaluation, calibration) and ``reports`` (training report).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from iqa.auditor.labels import LABELS


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(LABELS)) -> np.ndarray:
    """Counts ``m[i, j]`` of true class i predicted as j."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def precision_recall_f1(m: np.ndarray, i: int) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and support of class ``i`` of a (true x predicted) confusion matrix.

    An empty denominator gives 0 (no predictions: precision 0; no support: recall 0).
    """
    m = np.asarray(m)
    tp, pred, true = m[i, i], m[:, i].sum(), m[i].sum()
    p = tp / pred if pred else 0.0
    r = tp / true if true else 0.0
    return float(p), float(r), float(2 * p * r / (p + r)) if p + r else 0.0, int(true)


def per_class(m: np.ndarray, labels: Sequence[str] = LABELS) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    out = {}
    for i, name in enumerate(labels[: len(m)]):
        p, r, f1, support = precision_recall_f1(m, i)
        out[name] = {"precision": p, "recall": r, "f1": f1, "support": support}
    return out


def macro_f1(m: np.ndarray) -> float:
    """Mean F1 over the classes that have support."""
    stats = [s for s in per_class(m).values() if s["support"]]
    return float(np.mean([s["f1"] for s in stats])) if stats else 0.0


def balanced_accuracy(positive: np.ndarray, predicted: np.ndarray) -> float:
    """Mean of recall on positives and on negatives (one-sided sets use the side they have)."""
    positive, predicted = np.asarray(positive, bool), np.asarray(predicted, bool)
    parts = []
    if positive.any():
        parts.append(predicted[positive].mean())
    if (~positive).any():
        parts.append((~predicted[~positive]).mean())
    return float(np.mean(parts)) if parts else 0.0


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    positive, score = np.asarray(positive, bool), np.asarray(score, float)
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    allv = np.concatenate([pos, neg])
    for v in np.unique(allv):  # average ranks of ties
        tie = allv == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def best_threshold_accuracy(positive: np.ndarray, score: np.ndarray, higher_is_positive: bool) -> tuple[float, float]:
    """Best balanced accuracy over all thresholds on ``score`` (oracle-tuned), and that threshold."""
    positive, score = np.asarray(positive, bool), np.asarray(score, float)
    if not len(score):
        return 0.0, float("nan")
    s = score if higher_is_positive else -score
    best, best_t = 0.0, float("nan")
    for t in np.unique(s):
        ba = balanced_accuracy(positive, s >= t)
        if ba > best:
            best, best_t = ba, float(t if higher_is_positive else -t)
    return best, best_t
