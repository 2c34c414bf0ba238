"""Patch selection and image-level aggregation (pure functions)."""
from __future__ import annotations

import numpy as np
import pytest

from auditor.model import aggregate, decide, sharpest_patches, softmax
from auditor.patches import PatchPolicy, select_patches


def _textured_left_flat_right(h: int = 256, w: int = 512) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((h, w, 3), 128, np.uint8)
    img[:, : w // 2] = rng.integers(0, 256, (h, w // 2, 3), dtype=np.uint8)
    return img


def test_textured_cells_win_over_flat_sky() -> None:
    chosen = select_patches(_textured_left_flat_right(), PatchPolicy(64, 8, 1.0))
    assert len(chosen.patches) == 8
    assert (chosen.corners[:, 1] < 256).all()  # all from the textured half
    assert np.all(np.diff(chosen.texture) <= 0)  # ordered by decreasing texture


def test_small_images_keep_at_most_a_fraction_of_the_grid() -> None:
    img = _textured_left_flat_right(128, 192)  # 2 x 3 grid
    assert len(select_patches(img, PatchPolicy(64, 24, 0.5)).patches) == 3
    assert len(select_patches(img, PatchPolicy(64, 24, 1.0)).patches) == 6
    tiny = select_patches(np.zeros((20, 30, 3), np.uint8), PatchPolicy(64, 24, 0.5))
    assert tiny.patches.shape == (1, 64, 64, 3)  # padded to one full patch


def test_patch_pixels_match_their_corners() -> None:
    img = _textured_left_flat_right()
    chosen = select_patches(img, PatchPolicy(64, 4, 1.0))
    for patch, (y, x) in zip(chosen.patches, chosen.corners):
        assert np.array_equal(patch, img[y : y + 64, x : x + 64])


BLURRY, ORIGINAL = np.array([3.0, 0.0, -1.0]), np.array([-2.0, 2.0, 0.0])


def test_bokeh_is_not_blurry_but_uniform_blur_is() -> None:
    bokeh = np.stack([ORIGINAL] * 4 + [BLURRY] * 4)
    assert decide(aggregate(bokeh, (0, 0, 0), keep_fraction=0.5))[0] == "original"
    assert decide(aggregate(np.stack([BLURRY] * 8), (0, 0, 0), keep_fraction=0.5))[0] == "blurry"


def test_sharpest_patches_are_the_least_blurry_ones() -> None:
    logits = np.stack([BLURRY, ORIGINAL, BLURRY * 0.5, ORIGINAL * 2])
    kept = sharpest_patches(logits, 0.5)
    assert {tuple(r) for r in kept} == {tuple(ORIGINAL), tuple(ORIGINAL * 2)}
    assert np.array_equal(sharpest_patches(logits, 1.0), logits)


def test_bias_moves_the_decision_and_probabilities_stay_normalised() -> None:
    logits = np.stack([np.array([0.0, 0.5, 0.0])] * 3)
    assert decide(aggregate(logits, (0, 0, 0)))[0] == "original"
    probs = aggregate(logits, (1.0, 0, 0))
    assert decide(probs)[0] == "blurry" and probs.sum() == pytest.approx(1.0)
    assert softmax(np.array([[1000.0, 0.0, 0.0]]))[0, 0] == pytest.approx(1.0)  # no overflow
