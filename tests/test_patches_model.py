"""Patch selection and image-level aggregation (pure functions)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_one_confident_sharp_patch_cannot_outvote_a_blurry_frame() -> None:
    """A crisp overlay or a lamp's streak: one patch very sure it is sharp, 23 mildly blurry ones."""
    outlier = np.array([-30.0, 30.0, 0.0])
    frame = np.stack([outlier] + [BLURRY] * 23)
    assert decide(aggregate(frame, (0, 0, 0), keep_fraction=0.5))[0] == "original"  # the plain mean is swung
    assert decide(aggregate(frame, (0, 0, 0), keep_fraction=0.5, trim_fraction=0.125))[0] == "blurry"


def test_trimming_keeps_bokeh_not_blurry() -> None:
    """A sharp subject on a third of the textured patches still wins after the sharpest eighth is dropped."""
    bokeh = np.stack([ORIGINAL] * 8 + [BLURRY] * 16)
    assert decide(aggregate(bokeh, (0, 0, 0), keep_fraction=0.5, trim_fraction=0.125))[0] == "original"


def test_temperature_softens_probabilities_without_changing_the_decision() -> None:
    logits = np.stack([BLURRY, BLURRY * 2, ORIGINAL])
    hot, cool = aggregate(logits, (0.5, 0, 0)), aggregate(logits, (0.5, 0, 0), temperature=4.0)
    assert np.argmax(hot) == np.argmax(cool) and cool.max() < hot.max()


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 300), st.integers(20, 300), st.integers(0, 2**16))
def test_patches_from_a_given_grey_are_the_same(h: int, w: int, seed: int) -> None:
    import cv2

    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    own, given_grey = select_patches(img, PatchPolicy(64, 24)), select_patches(img, PatchPolicy(64, 24), grey)
    assert np.array_equal(own.patches, given_grey.patches) and np.array_equal(own.corners, given_grey.corners)
