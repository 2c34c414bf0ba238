"""Property tests for the degradations (scikit-image style): blur lowers sharpness, halos raise it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from iqa.auditor.sharpness import laplacian_variance
from iqa.dataset import degrade
from iqa.dataset import recipes
from iqa.dataset.recipes import VARIANTS, make_variant
from iqa.dataset.ranges import RANGES

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo shipped inside scikit-image's wheel, cropped small for speed."""
    return np.ascontiguousarray(skdata.astronaut()[:256, 128:384])


def _strictly_decreasing(values: list[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def test_gaussian_blur_lowers_sharpness_monotonically(photo: np.ndarray) -> None:
    scores = [laplacian_variance(photo)] + [laplacian_variance(degrade.gaussian_blur(photo, s)) for s in (0.9, 1.5, 3, 5)]
    assert _strictly_decreasing(scores)


@pytest.mark.parametrize("blades", [0, 6])
def test_defocus_lowers_sharpness_monotonically(photo: np.ndarray, blades: int) -> None:
    scores = [laplacian_variance(photo)]
    scores += [laplacian_variance(degrade.defocus_blur(photo, r, blades)) for r in (1.2, 2, 4, 8)]
    assert _strictly_decreasing(scores)


@pytest.mark.parametrize("anxiety", [0.0, 0.3, 0.6])
def test_shake_lowers_sharpness_monotonically(photo: np.ndarray, anxiety: float) -> None:
    # the same trajectory shape (same seed) stretched to longer lengths
    kernels = [degrade.shake_kernel(np.random.default_rng(3), length, anxiety) for length in (3, 6, 12, 24)]
    scores = [laplacian_variance(photo)] + [laplacian_variance(degrade.motion_blur(photo, k)) for k in kernels]
    assert _strictly_decreasing(scores)


def test_psfs_are_normalised_and_nonnegative() -> None:
    rng = np.random.default_rng(0)
    for k in (degrade.disk_kernel(1.2), degrade.disk_kernel(5, blades=5), degrade.shake_kernel(rng, 15, 0.5)):
        assert k.min() >= 0
        assert k.sum() == pytest.approx(1.0, abs=1e-5)


def test_shake_trajectory_spans_requested_length() -> None:
    traj = degrade.shake_trajectory(np.random.default_rng(1), 20.0, 0.5)
    assert max(np.ptp(traj.real), np.ptp(traj.imag)) == pytest.approx(20.0)
    assert np.abs(np.diff(traj)).std() < 1e-6 * 20  # constant speed along the path


def test_psf_of_an_uneven_shake_is_normalised() -> None:
    k = degrade.shake_kernel(np.random.default_rng(4), 20, 0.02, dwell=1.5)
    assert k.min() >= 0
    assert k.sum() == pytest.approx(1.0, abs=1e-5)


def test_dwell_zero_is_constant_speed() -> None:
    assert np.all(degrade.dwell_weights(np.random.default_rng(0), 64, 0.0) == 1.0)


def test_lingering_concentrates_the_psf() -> None:
    # the same path and the same dwell curve, scaled: where the hand lingers gathers weight, so the
    # PSF's mass concentrates (sum of squares grows) and its peak rises, the ghosted copy sharpens
    traj = degrade.shake_trajectory(np.random.default_rng(5), 30.0, 0.02)
    kernels = [degrade.trajectory_kernel(traj, degrade.dwell_weights(np.random.default_rng(6), len(traj), a))
               for a in (0.0, 0.5, 1.0, 2.0)]
    energy = [float((k.astype(np.float64) ** 2).sum()) for k in kernels]
    assert all(a < b for a, b in zip(energy, energy[1:]))
    assert kernels[-1].max() > 3 * kernels[0].max()


def test_uneven_shake_still_lowers_sharpness(photo: np.ndarray) -> None:
    kernels = [degrade.shake_kernel(np.random.default_rng(3), length, 0.02, dwell=1.0) for length in (3, 6, 12, 24)]
    scores = [laplacian_variance(photo)] + [laplacian_variance(degrade.motion_blur(photo, k)) for k in kernels]
    assert _strictly_decreasing(scores)


def test_curved_trajectory_is_not_a_straight_line() -> None:
    traj = degrade.shake_trajectory(np.random.default_rng(2), 20.0, 0.6)
    chord = abs(traj[-1] - traj[0])
    path = np.abs(np.diff(traj)).sum()
    assert path > 1.3 * chord


def test_oversharpening_raises_sharpness_and_overshoots_edges(photo: np.ndarray) -> None:
    assert laplacian_variance(degrade.oversharpen(photo, 1.5, 1.5)) > laplacian_variance(photo)
    assert laplacian_variance(degrade.high_boost(photo, 1.0)) > laplacian_variance(photo)
    edge = np.full((32, 64, 3), 60, np.uint8)
    edge[:, 32:] = 190
    soft = degrade.gaussian_blur(edge, 1.0)
    for sharpened in (degrade.oversharpen(soft, 2.0, 2.0), degrade.high_boost(soft, 1.5)):
        assert sharpened.max() > 195 and sharpened.min() < 55  # halo: overshoot on both sides of the edge
    assert soft.max() <= 190 and soft.min() >= 60  # blur alone never overshoots


def test_partial_blur_keeps_a_sharp_region(photo: np.ndarray) -> None:
    out = degrade.partial_blur(photo, np.random.default_rng(0), 0.4, 8.0)
    assert laplacian_variance(out) < laplacian_variance(photo)
    diff = np.abs(out.astype(int) - photo.astype(int)).mean(axis=2)
    assert (diff < 2).mean() > 0.15  # a good part of the frame is untouched


def test_partial_blur_keeps_the_detailed_subject_sharp() -> None:
    """The in-focus region is drawn towards the subject (detail), not onto featureless background.

    The subject sits in a corner that a uniformly placed sharp ellipse would rarely cover.
    """
    rng = np.random.default_rng(1)
    img = np.full((240, 320, 3), 120, np.uint8)
    img[150:210, 220:290] = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    subject = (slice(160, 200), slice(230, 280))
    kept = [np.abs(degrade.partial_blur(img, np.random.default_rng(seed), 0.2, 8.0)[subject].astype(int)
                   - img[subject]).mean() < 5 for seed in range(20)]
    assert np.mean(kept) >= 0.5


QUIET = RANGES.__class__(p_night=0.0, p_highlights=0.0, p_day_lights=0.0, p_noise=0.0, p_exposure=0.0,
                         p_resample=0.0, p_web_sharpen=0.0, p_overlay=0.0)


def test_blurry_variants_may_carry_in_camera_sharpening(photo: np.ndarray) -> None:
    img, label, params = make_variant(photo, "gaussian", np.random.default_rng(0), replace(QUIET, p_blurry_sharpened=1.0))
    assert label == "blurry" and "camera_amount" in params
    assert laplacian_variance(img) < laplacian_variance(photo)  # sharpened blur is still blurrier than the source
    _, _, plain = make_variant(photo, "gaussian", np.random.default_rng(0), replace(QUIET, p_blurry_sharpened=0.0))
    assert "camera_amount" not in plain


@pytest.mark.parametrize("seed", range(8))
def test_camera_nuisances_keep_each_label_on_its_side(photo: np.ndarray, seed: int) -> None:
    """The same sensor and editing draw (exposure, noise, tone, resampling, JPEG) keeps blurry < original < sharp."""
    from iqa.dataset import camera

    strong = RANGES.__class__(p_noise=1.0, p_exposure=1.0, p_resample=1.0, p_web_sharpen=0.0, p_overlay=0.0)
    lin = camera.srgb_to_linear(photo)
    factor, kind = recipes._resample_plan(photo.shape, np.random.default_rng(seed), strong)
    optics = {"blurry": degrade.gaussian_blur(lin, 1.5 / factor), "original": lin, "sharp": lin}
    fixed_usm = lambda img, rng, rg: (degrade.oversharpen(img, 1.5, 1.5), {})  # noqa: E731
    quality = int(np.random.default_rng(seed).integers(50, 101))
    scores = {}
    for label, scene in optics.items():
        img, params = recipes.sensor(scene, np.random.default_rng(seed), strong, night=False)
        img, extra = recipes.editing_nuisances(img, np.random.default_rng(seed), strong, factor, kind,
                                               fixed_usm if label == "sharp" else None)
        scores[label] = laplacian_variance(degrade.jpeg_roundtrip(img, quality))
    assert {"gain", "noise", "resample"} <= set(params) | set(extra)
    assert scores["blurry"] < scores["original"] < scores["sharp"]


def test_resampled_blur_keeps_its_strength_at_the_output_scale() -> None:
    """A sample web-resized by f is blurred by strength / f first: the blur it shows stays in range."""
    from dataclasses import replace

    always = replace(QUIET, p_resample=1.0, resample_factor=(0.5, 0.5), resample_kinds=("lanczos",))
    big = skdata.astronaut()  # large enough to be shrunk by half
    blurry, _, params = make_variant(big, "gaussian", np.random.default_rng(2), always)
    original, _, _ = make_variant(big, "original", np.random.default_rng(2), always)
    assert params["resample"] == 0.5 and blurry.shape == original.shape
    direct = degrade.gaussian_blur(original, params["gaussian_sigma"])
    assert laplacian_variance(blurry) < 1.5 * laplacian_variance(direct)


def test_degradations_are_deterministic_given_the_generator(photo: np.ndarray) -> None:
    for variant in VARIANTS:
        a = make_variant(photo, variant, np.random.default_rng(5))
        b = make_variant(photo, variant, np.random.default_rng(5))
        assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]


def test_jpeg_roundtrip_quality_orders_error(photo: np.ndarray) -> None:
    err = [np.abs(degrade.jpeg_roundtrip(photo, q).astype(int) - photo).mean() for q in (50, 80, 100)]
    assert err[0] > err[1] > err[2]


def test_over_sharpened_samples_are_never_night_scenes(photo: np.ndarray) -> None:
    from dataclasses import replace

    always_night = replace(RANGES, p_night=1.0)
    for seed in range(4):
        _, _, sharp = make_variant(photo, "unsharp", np.random.default_rng(seed), always_night)
        _, _, blurry = make_variant(photo, "shake", np.random.default_rng(seed), always_night)
        assert "night" not in sharp and "night" in blurry


def test_uneven_shake_switch(photo: np.ndarray) -> None:
    on = replace(RANGES, p_uneven_shake=1.0)
    lin = photo.astype(np.float32) / 255
    _, off_params = recipes.shake(lin, np.random.default_rng(1), RANGES, 1.0)
    _, on_params = recipes.shake(lin, np.random.default_rng(1), on, 1.0)
    assert off_params["shake_dwell"] == 0.0
    assert on.shake_dwell[0] <= on_params["shake_dwell"] <= on.shake_dwell[1]
