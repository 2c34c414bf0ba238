"""Image-level decision calibration: a bias on the mean patch logits, fitted on real and synthetic blur.

The synthetic validation split alone sets a boundary that is too strict for real photos, so the
blurry bias maximises the mean of two balanced accuracies (synthetic val, real calibration photos)
under hard caps on false alarms: untouched val originals and bokeh-like partial blur called blurry,
and (when given) untouched real photos at native size. Among equally good blurry biases the middle of
the best plateau is taken (robust, not tuned to an edge); the sharp bias is the most conservative one
within a tolerance of the best validation macro-F1, under the native photos' cap on sharp calls.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iqa.trainer import metrics
from iqa.trainer.evaluate import ScoredImages, decide_with_bias

GRID = np.round(np.arange(-4.0, 4.0001, 0.05), 4)
TEMPERATURES = np.round(np.exp(np.linspace(np.log(0.5), np.log(20.0), 80)), 4)


@dataclass(frozen=True)
class CalibrationPolicy:
    """Caps that the blurry bias must respect on the validation split."""

    max_original_false_alarm: float = 0.02
    max_partial_false_alarm: float = 0.04
    # untouched real photos at native size held out from training (``native`` of fit_bias): the
    # synthetic originals are rarely called over-sharpened, real ones are, so only real pixels can
    # cap that boundary. Issue 9's targets are <= 1 % called blurry, <= 2 % called sharp; the sharp cap
    # is half its target because ~100 photos measure 2 % only to about +-1.3 % (README)
    max_native_blurry: float = 0.01
    max_native_sharp: float = 0.01
    # the sharp bias is the most conservative one (fewest over-sharpened calls) whose validation
    # macro-F1 is within this of the best: the one-standard-error rule (~1,000 images measure macro-F1
    # to about +-0.008), leaning the way a stock contributor's false rejection argues for
    sharp_f1_tolerance: float = 0.005


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


def _native_rate(native: ScoredImages | None, bias: np.ndarray, label: int) -> float:
    """Share of the native photos decided ``label`` under ``bias`` (0 without native photos)."""
    if native is None or not len(native.items):
        return 0.0
    return float((decide_with_bias(native.log_odds, bias) == label).mean())


def _most_conservative(values: list[float], tolerance: float) -> float:
    """The lowest bias of :data:`GRID` whose value is within ``tolerance`` of the best."""
    best = max(values)
    return float(GRID[min(i for i, v in enumerate(values) if v >= best - tolerance - 1e-12)])


def fit_bias(val: ScoredImages, real: ScoredImages | None = None,
             policy: CalibrationPolicy = CalibrationPolicy(),
             native: ScoredImages | None = None) -> tuple[tuple[float, float, float], dict]:
    """Fit (b_blurry, 0, b_sharp); returns the bias and a small report of what drove it.

    ``native``: untouched real photos (none seen in training) that must rarely be called blurry or
    over-sharpened (``policy.max_native_*``); a cap that no bias meets is dropped (the report gives the
    rates reached).
    """
    scores, capped = [], []
    for b in GRID:
        bias = np.array([b, 0.0, 0.0])
        pv = decide_with_bias(val.log_odds, bias)
        ok = (_false_alarm(val, pv, ("original", "camera")) <= policy.max_original_false_alarm
              and _false_alarm(val, pv, ("partial",)) <= policy.max_partial_false_alarm)
        score = _blurry_ba(val, pv)
        if real is not None and len(real.items):
            score = (score + _blurry_ba(real, decide_with_bias(real.log_odds, bias))) / 2
        scores.append(score if ok else -1.0)
        capped.append(score if ok and _native_rate(native, bias, 0) <= policy.max_native_blurry else -1.0)
    free = _middle_of_best(scores, GRID) if max(scores) >= 0 else 0.0
    scores = capped if max(capped) >= 0 else scores
    b_blurry = _middle_of_best(scores, GRID) if max(scores) >= 0 else 0.0
    f1s, capped = [], []
    for b in GRID:
        bias = np.array([b_blurry, 0.0, b])
        f1s.append(metrics.macro_f1(metrics.confusion_matrix(val.truth, decide_with_bias(val.log_odds, bias))))
        capped.append(f1s[-1] if _native_rate(native, bias, 2) <= policy.max_native_sharp else -1.0)
    free_sharp = _most_conservative(f1s, policy.sharp_f1_tolerance)
    f1s = capped if max(capped) >= 0 else f1s
    b_sharp = _most_conservative(f1s, policy.sharp_f1_tolerance)
    report = {"objective": max(scores), "val_macro_f1": max(f1s), "grid": [float(GRID[0]), float(GRID[-1])],
              "policy": {"max_original_false_alarm": policy.max_original_false_alarm,
                         "max_partial_false_alarm": policy.max_partial_false_alarm}}
    if native is not None and len(native.items):
        final = np.array([b_blurry, 0.0, b_sharp])
        report["native"] = {"photos": len(native.items), "max_blurry": policy.max_native_blurry,
                            "max_sharp": policy.max_native_sharp, "blurry_cap_moved_bias": b_blurry != free,
                            "sharp_cap_moved_bias": b_sharp != free_sharp,
                            "called_blurry": _native_rate(native, final, 0),
                            "called_sharp": _native_rate(native, final, 2)}
    return (b_blurry, 0.0, b_sharp), report


def _nll(scored: ScoredImages, bias: np.ndarray, temperature: float) -> float:
    z = (scored.log_odds + bias) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(z)), scored.truth].mean())


def fit_temperature(sets: list[ScoredImages], bias: tuple[float, float, float]) -> float:
    """The image-level temperature that minimises the mean negative log-likelihood over ``sets``.

    Each set (synthetic validation, real calibration photos) weighs the same, whatever its size, so
    the real photos are not drowned. The temperature divides the biased logits: the decision
    (their argmax) is unchanged, only the confidence becomes honest.
    """
    sets = [s for s in sets if s is not None and len(s.items)]
    if not sets:
        return 1.0
    b = np.asarray(bias, float)
    losses = [np.mean([_nll(s, b, t) for s in sets]) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])
