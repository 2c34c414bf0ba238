"""Image-level metrics (``auditor.metrics``, used by trainer and reports) and the bias fit, on hand-made numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iqa.auditor.metrics import (balanced_accuracy, best_threshold_accuracy, confusion_matrix, macro_f1, per_class,
                             roc_auc)
from iqa.reports.training import per_class_rows
from iqa.trainer import metrics as trainer_metrics
from iqa.trainer.calibrate import CalibrationPolicy, fit_bias
from iqa.trainer.data import ImageItem
from iqa.trainer.evaluate import ScoredImages

# true: 3 blurry, 2 original, 1 sharp; one blurry taken for original, one original for sharp
TRUE = [0, 0, 0, 1, 1, 2]
PRED = [0, 0, 1, 1, 2, 2]


def test_confusion_and_per_class() -> None:
    m = confusion_matrix(TRUE, PRED)
    assert m.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    stats = per_class(m)
    assert stats["blurry"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
                               "support": 3}
    assert stats["original"]["precision"] == 0.5 and stats["original"]["recall"] == 0.5
    assert stats["sharp"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert macro_f1(m) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert per_class(np.zeros((3, 3), int))["sharp"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_reports_and_trainer_share_one_definition() -> None:
    m = confusion_matrix(TRUE, PRED)
    assert [r["f1"] for r in per_class_rows(m, ("b", "o", "s"))] == [s["f1"] for s in per_class(m).values()]
    assert trainer_metrics.per_class is per_class


def test_balanced_accuracy_auc_and_oracle_threshold() -> None:
    positive = np.array([True, True, True, False])
    assert balanced_accuracy(positive, [True, False, True, True]) == pytest.approx((2 / 3 + 0) / 2)
    assert balanced_accuracy([False, False], [False, True]) == 0.5  # one-sided: negatives only
    # pairs (pos, neg): 0.9>0.5, 0.9>0.1, 0.5=0.5 (half), 0.5>0.1 -> 3.5 of 4
    assert roc_auc([True, True, False, False], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(0.875)
    assert np.isnan(roc_auc([True, True], [0.1, 0.2]))
    ba, t = best_threshold_accuracy([True, True, False, False], [1.0, 2.0, 8.0, 9.0], higher_is_positive=False)
    assert ba == 1.0 and 2.0 <= t < 8.0


def _scored(rows: list[tuple[str, str, tuple[float, float, float]]]) -> ScoredImages:
    items = tuple(ImageItem(Path(f"{i}.png"), label, variant) for i, (label, variant, _) in enumerate(rows))
    log_odds = np.array([lo for _, _, lo in rows], float)
    return ScoredImages(items, np.zeros_like(log_odds), log_odds, np.zeros(len(rows)), 0)


# Blurry images need a blurry bias >= 1 to be called blurry (ties go to blurry), untouched originals
# are called blurry from a bias of 3, bokeh-like partial blur from 2; sharp images need a sharp bias > 1.
BLURRY = ("blurry", "gaussian", (-1.0, 0.0, -9.0))
ORIGINAL = ("original", "original", (-3.0, 0.0, -9.0))
PARTIAL = ("original", "partial", (-2.0, 0.0, -9.0))
SHARP = ("sharp", "unsharp", (-9.0, 0.0, -1.0))


def test_fit_bias_takes_the_middle_of_the_best_blurry_plateau_and_the_lowest_good_sharp_bias() -> None:
    bias, report = fit_bias(_scored([BLURRY] * 4 + [ORIGINAL] * 4 + [SHARP] * 4))
    # blurry: every bias in [1.00, 2.95] is perfect, middle 1.95; sharp: [1.05, 4.00] (at 1.00 the tie goes
    # to original), the lowest 1.05
    assert bias == pytest.approx((1.95, 0.0, 1.05))
    assert report["objective"] == 1.0 and report["val_macro_f1"] == 1.0


@pytest.mark.parametrize("tolerance, expected", [(0.0, 3.05), (0.1, 1.05)])
def test_the_sharp_bias_gives_up_a_little_macro_f1_for_fewer_sharp_calls(tolerance: float, expected: float) -> None:
    # one over-sharpened image in five needs a sharp bias of 3: missing it costs about 0.06 macro-F1
    val = _scored([BLURRY] * 4 + [ORIGINAL] * 4 + [SHARP] * 4 + [("sharp", "boost", (-9.0, 0.0, -3.0))])
    bias, _ = fit_bias(val, policy=CalibrationPolicy(sharp_f1_tolerance=tolerance))
    assert bias[2] == pytest.approx(expected)


def test_fit_bias_respects_the_partial_blur_cap() -> None:
    bias, _ = fit_bias(_scored([BLURRY] * 4 + [ORIGINAL] * 4 + [PARTIAL] * 4 + [SHARP] * 4))
    assert bias[0] == pytest.approx(1.45)  # from 2.0 every partial image is blurry: [1.00, 1.95] is left


def test_fit_bias_averages_with_real_photos() -> None:
    # on the real photos, blurry ones need a bias of 2.5: the objective prefers the plateau that serves both
    real = _scored([("blurry", "", (-2.5, 0.0, -9.0))] * 2 + [("original", "", (-3.5, 0.0, -9.0))] * 2)
    bias, report = fit_bias(_scored([BLURRY] * 4 + [ORIGINAL] * 4 + [SHARP] * 4), real)
    assert bias[0] == pytest.approx(2.7) and report["objective"] == 1.0  # middle of [2.50, 2.95]


def test_native_photos_cap_both_boundaries() -> None:
    # 100 untouched real photos: one blurry-looking from a bias of 1.5, three sharp-looking from 1.5
    native = _scored([("original", "native", (-1.5, 0.0, -9.0))] + [("original", "native", (-9.0, 0.0, -1.5))] * 3
                     + [("original", "native", (-9.0, 0.0, -9.0))] * 96)
    # half the over-sharpened images need a sharp bias of 2 to be caught
    val = _scored([BLURRY] * 4 + [ORIGINAL] * 4 + [SHARP] * 4 + [("sharp", "boost", (-9.0, 0.0, -2.0))] * 4)
    free, _ = fit_bias(val)
    bias, report = fit_bias(val, native=native)
    assert free == pytest.approx((1.95, 0.0, 2.05))
    # 1 of 100 called blurry is within the 1 % cap: [1.00, 2.95] stays; 3 of 100 sharp is not: the sharp
    # bias must stay <= 1.5 (at 1.5 the tie goes to original), where the best it can do starts at 1.05
    assert bias == pytest.approx((1.95, 0.0, 1.05))
    assert report["native"]["called_sharp"] == 0.0 and report["native"]["sharp_cap_moved_bias"]
    assert not report["native"]["blurry_cap_moved_bias"]


def test_a_native_cap_no_bias_meets_is_dropped() -> None:
    native = _scored([("original", "native", (9.0, 0.0, -9.0))] * 10)  # blurry-looking whatever the bias
    bias, report = fit_bias(_scored([BLURRY] * 4 + [ORIGINAL] * 4 + [SHARP] * 4), native=native)
    assert bias[0] == pytest.approx(1.95) and report["native"]["called_blurry"] == 1.0
