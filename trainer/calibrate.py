"""Image-level decision calibration: a bias on the mean patch logits, fitted on real and synthetic blur.

The synthetic validation split alone sets a boundary that is too strict for real photos, so the
blurry bias maximises the mean of two balanced accuracies (synthetic val, real calibration photos)
under hard caps on false alarms: untouched val originals and bokeh-like partial blur called blurry.
Among equally good biases the middle of the best plateau is taken (robust, not tuned to an edge).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iqa.trainer import metrics
from iqa.trainer.evaluate import ScoredImages, decide_with_bias

GRID = np.round(np.arange(-4.0, 4.0001, 0.05), 4)


@dataclass(frozen=True)
class CalibrationPolicy:
    """Caps that the blurry bias must respect on the validation split."""

    max_original_false_alarm: float = 0.02
    max_partial_false_alarm: float = 0.04


def _false_alarm(scored: ScoredImages, pred: np.ndarray, variants: tuple[str, ...]) -> float:
    mask = np.array([it.variant in variants for it in scored.items])
    return float((pred[mask] == 0).mean()) if mask.any() else 0.0


def _blurry_ba(scored: ScoredImages, pred: np.ndarray) -> float:
    return metrics.balanced_accuracy(scored.truth == 0, pred == 0)


def _middle_of_best(values: list[float], grid: np.ndarray) -> float:
    best = max(values)
    idx = [i for i, v in enumerate(values) if v >= best - 1e-9]
    # longest run of consecutive best indices, then its middle
    runs, start = [], idx[0]
    for a, b in zip(idx, idx[1:] + [None]):
        if b != a + 1:
            runs.append((start, a))
            start = b
    lo, hi = max(runs, key=lambda r: r[1] - r[0])
    return float(grid[(lo + hi) // 2])


def fit_bias(val: ScoredImages, real: ScoredImages | None = None,
             policy: CalibrationPolicy = CalibrationPolicy()) -> tuple[tuple[float, float, float], dict]:
    """Fit (b_blurry, 0, b_sharp); returns the bias and a small report of what drove it."""
    scores = []
    for b in GRID:
        bias = np.array([b, 0.0, 0.0])
        pv = decide_with_bias(val.log_odds, bias)
        ok = (_false_alarm(val, pv, ("original", "camera")) <= policy.max_original_false_alarm
              and _false_alarm(val, pv, ("partial",)) <= policy.max_partial_false_alarm)
        score = _blurry_ba(val, pv)
        if real is not None and len(real.items):
            score = (score + _blurry_ba(real, decide_with_bias(real.log_odds, bias))) / 2
        scores.append(score if ok else -1.0)
    b_blurry = _middle_of_best(scores, GRID) if max(scores) >= 0 else 0.0
    f1s = []
    for b in GRID:
        pv = decide_with_bias(val.log_odds, np.array([b_blurry, 0.0, b]))
        f1s.append(metrics.macro_f1(metrics.confusion_matrix(val.truth, pv)))
    b_sharp = _middle_of_best(f1s, GRID)
    report = {"objective": max(scores), "val_macro_f1": max(f1s), "grid": [float(GRID[0]), float(GRID[-1])],
              "policy": {"max_original_false_alarm": policy.max_original_false_alarm,
                         "max_partial_false_alarm": policy.max_partial_false_alarm}}
    return (b_blurry, 0.0, b_sharp), report
