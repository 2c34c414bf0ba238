"""Temperature fitting, ECE and leave-one-scene-out scoring on hand-made scores (no model needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iqa.trainer import metrics
from iqa.trainer.calibrate import fit_temperature
from iqa.trainer.data import ImageItem
from iqa.trainer.evaluate import ScoredImages, summarize
from iqa.trainer.loso import leave_one_scene_out


def _scored(margins: list[float], labels: list[str], scenes: list[str] | None = None) -> ScoredImages:
    """Images whose blurry-vs-original log-odds are ``margins`` (sharp far below)."""
    items = tuple(ImageItem(Path(f"cal/{(scenes or ['s'] * len(labels))[i]}/{lab}/{(scenes or ['s'] * len(labels))[i]}_{i}.png"),
                            lab) for i, lab in enumerate(labels))
    z = np.array([[m, 0.0, -20.0] for m in margins])
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return ScoredImages(items, p, z, np.zeros(len(z)), 0)


def test_overconfident_scores_get_a_temperature_above_one() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(size=400) < 0.5
    # margins of +-12, but one in five on the wrong side: confident and often wrong
    margins = np.where(truth, 12.0, -12.0) * np.where(rng.uniform(size=400) < 0.2, -1, 1)
    s = _scored(list(margins), ["blurry" if t else "original" for t in truth])
    t = fit_temperature([s], (0.0, 0.0, 0.0))
    assert t > 3
    assert summarize(s, (0, 0, 0), t)["ece"] < summarize(s, (0, 0, 0), 1.0)["ece"]


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    conf = np.full(100, 0.8)
    correct = np.arange(100) < 80
    assert metrics.expected_calibration_error(conf, correct) == pytest.approx(0.0)
    assert metrics.expected_calibration_error(conf, np.ones(100, bool)) == pytest.approx(0.2)


def test_leave_one_scene_out_cannot_use_the_held_out_scene() -> None:
    """Scene b's blurry photos sit where only a threshold fitted on b itself would catch them."""
    val = _scored([5.0, 4.0, -5.0, -4.0], ["blurry", "blurry", "original", "original"])
    scenes = ["a"] * 4 + ["b"] * 4
    real = _scored([3.0, 3.0, -3.0, -3.0, -1.5, -1.5, -3.0, -3.0],
                   ["blurry", "blurry", "original", "original", "blurry", "blurry", "original", "original"], scenes)
    out = leave_one_scene_out(val, real)
    assert out["per_scene"]["a/a"] == 1.0
    assert out["per_scene"]["b/b"] == 0.5  # its mild blur is missed: no other scene asked for that threshold
    assert set(out["blurry_bias_per_held_out_scene"]) == {"a/a", "b/b"}
