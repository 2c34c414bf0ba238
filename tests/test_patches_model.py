"""Patch selection and image-level aggregation (pure functions)."""
from __future__ import annotations

import numpy as np
import pytest

from iqa.auditor.model import aggregate, decide, sharpest_patches, softmax
from iqa.auditor.patches import PatchPolicy, select_patches


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
    assert len(select_patches(img, PatchPolicy(64, 24, 0.5, half_step_below=0)).patches) == 3
    assert len(select_patches(img, PatchPolicy(64, 24, 1.0, half_step_below=0)).patches) == 6
    # half-step grid: 3 x 5 overlapping cells, half of them kept
    assert len(select_patches(img, PatchPolicy(64, 24, 0.5)).patches) == 8
    tiny = select_patches(np.zeros((20, 30, 3), np.uint8), PatchPolicy(64, 24, 0.5))
    assert tiny.patches.shape == (1, 64, 64, 3)  # padded to one full patch


def test_only_small_images_use_the_overlapping_grid() -> None:
    policy = PatchPolicy(64, 24, 0.5)
    assert policy.stride((320, 480)) == 32  # 5 x 7 cells: half the grid cannot fill 24 patches
    assert policy.stride((480, 640)) == 64  # 7 x 10 cells
    assert PatchPolicy(64, 8, 0.5).stride((320, 480)) == 32  # the grid does not depend on the count
    assert PatchPolicy(63, 24, 0.5).stride((320, 480)) == 63  # odd cells cannot be tiled by half steps
    odd = select_patches(np.random.default_rng(0).integers(0, 255, (127, 190, 3), dtype=np.uint8), PatchPolicy(63))
    assert odd.patches.shape[1:] == (63, 63, 3)
    assert PatchPolicy(64, 24, 0.5, half_step_below=0).stride((320, 480)) == 64


def test_fewer_patches_are_the_most_textured_prefix() -> None:
    rng = np.random.default_rng(3)
    img = (rng.random((321, 481, 3)) * np.linspace(0, 255, 481)[None, :, None]).astype(np.uint8)
    many, few = select_patches(img, PatchPolicy(64, 24)), select_patches(img, PatchPolicy(64, 8))
    assert np.array_equal(many.corners[:8], few.corners)


def test_overlapping_cells_find_a_small_subject_between_grid_cells() -> None:
    # a 64 px textured square centred on a plain-grid corner: every plain cell sees only a quarter of it
    rng = np.random.default_rng(0)
    img = np.full((256, 256, 3), 128, np.uint8)
    img[96:160, 96:160] = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    best = select_patches(img, PatchPolicy(64, 24, 0.5))
    assert tuple(best.corners[0]) == (96, 96)
    plain = select_patches(img, PatchPolicy(64, 24, 0.5, half_step_below=0))
    assert best.texture[0] > 3 * plain.texture[0]


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
