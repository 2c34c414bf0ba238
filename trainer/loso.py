"""Leave-one-scene-out scoring of the decision threshold on the real calibration photos.

Fitting the blurry bias on 9 scenes and scoring the same 9 flatters it. Here each scene is scored
with a bias fitted (exactly as ``iqa quantize`` fits it) on the validation split and the *other*
scenes only, so the figure says how the threshold does on a scene it has never seen.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from iqa.trainer import metrics
from iqa.trainer.calibrate import CalibrationPolicy, fit_bias
from iqa.trainer.evaluate import ScoredImages, decide_with_bias, scene_of, take


def leave_one_scene_out(val: ScoredImages, real: ScoredImages, policy: CalibrationPolicy = CalibrationPolicy(),
                        native: ScoredImages | None = None) -> dict[str, Any]:
    """Blurry-vs-not balanced accuracy of ``real`` when every scene is judged by a bias fitted without it.

    Returns
    -------
    dict
        ``balanced_accuracy``, ``blurry_recall``, ``original_correct`` (share of non-blurry photos not
        called blurry), ``per_scene`` accuracy and the blurry bias fitted for each held-out scene.
    """
    scenes = np.array([scene_of(it) for it in real.items])
    pred = np.zeros(len(scenes), int)
    biases: dict[str, float] = {}
    for scene in sorted(set(scenes)):
        held = scenes == scene
        bias, _ = fit_bias(val, take(real, ~held), policy, native)
        pred[held] = decide_with_bias(real.log_odds[held], bias)
        biases[scene] = bias[0]
    truth_blurry, said_blurry = real.truth == 0, pred == 0
    per_scene = {s: float((truth_blurry[scenes == s] == said_blurry[scenes == s]).mean()) for s in sorted(biases)}
    return {"balanced_accuracy": metrics.balanced_accuracy(truth_blurry, said_blurry),
            "blurry_recall": float(said_blurry[truth_blurry].mean()) if truth_blurry.any() else float("nan"),
            "original_correct": float((~said_blurry[~truth_blurry]).mean()) if (~truth_blurry).any() else float("nan"),
            "per_scene": per_scene, "blurry_bias_per_held_out_scene": biases}
