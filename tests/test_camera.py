"""Property tests for the camera model: light above clip, noise, tone curve, overlays (scikit-image style)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iqa.auditor.sharpness import laplacian_variance
from iqa.dataset import camera, degrade


def _night_with_one_lamp(peak: float) -> np.ndarray:
    lin = np.full((64, 96, 3), 0.01, np.float32)
    lin[32, 20] = peak  # one lamp, ``peak`` times the clip level
    return lin


def _straight_shake(length: int) -> np.ndarray:
    k = np.zeros((length + 1, length + 1), np.float32)
    k[length // 2, :length] = 1.0 / length
    return k


def test_blur_in_linear_light_keeps_a_clipped_lamp_saturated_along_the_shake() -> None:
    """A lamp 40x over clip shaken over 20 px still saturates the whole streak; blurring 8-bit pixels cannot."""
    kernel = _straight_shake(20)
    linear = camera.linear_to_srgb(degrade.motion_blur(_night_with_one_lamp(40.0), kernel))
    clipped_first = degrade.motion_blur(camera.linear_to_srgb(_night_with_one_lamp(40.0)), kernel)
    streak = linear[32, 12:28]
    assert (streak == 255).all()
    assert clipped_first[32].max() < 60  # the sRGB blur smears a 255 dot into a dim grey line


@given(st.floats(min_value=2.0, max_value=50.0), st.integers(min_value=4, max_value=30))
@settings(max_examples=25, deadline=None)
def test_linear_blur_conserves_light_energy(peak: float, length: int) -> None:
    lin = _night_with_one_lamp(peak)
    blurred = degrade.motion_blur(lin, _straight_shake(length))
    assert blurred.sum() == pytest.approx(lin.sum(), rel=1e-3)


def test_srgb_round_trip_is_exact() -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(camera.linear_to_srgb(camera.srgb_to_linear(values)), values)


@given(st.floats(min_value=1.5, max_value=8.0), st.floats(min_value=0.5, max_value=0.9))
@settings(max_examples=25, deadline=None)
def test_highlight_boost_lifts_only_what_is_above_the_knee(gain: float, knee: float) -> None:
    lin = np.linspace(0, 1, 101, dtype=np.float32)[None, :, None].repeat(3, axis=2)
    out = camera.boost_highlights(lin, gain, knee)
    below = lin[0, :, 0] <= knee
    assert np.allclose(out[0, below], lin[0, below])
    assert out[0, -1, 0] == pytest.approx(gain, rel=1e-4)
    assert (np.diff(out[0, :, 0]) >= 0).all()  # still monotone: no new edges


def test_fewer_photons_mean_more_noise() -> None:
    lin = np.full((64, 64, 3), 0.2, np.float32)
    spread = [camera.sensor_noise(lin, np.random.default_rng(0), photons, 0.001).std() for photons in (100, 1000, 10000)]
    assert spread[0] > spread[1] > spread[2]


def test_light_above_clip_survives_sensor_noise() -> None:
    noisy = camera.sensor_noise(_night_with_one_lamp(20.0), np.random.default_rng(1), 300, 0.003)
    assert camera.linear_to_srgb(noisy)[32, 20].min() == 255


def test_point_lights_add_light_above_clip() -> None:
    lin = np.full((80, 80, 3), 0.02, np.float32)
    lit = camera.add_point_lights(lin, np.random.default_rng(0), 10, (5.0, 10.0), (0.5, 1.0))
    assert lit.max() > camera.CLIP and (lit >= lin).all()


def test_overlay_is_crisp_and_local() -> None:
    soft = degrade.gaussian_blur(np.full((120, 200, 3), 128, np.uint8), 3.0)
    out = camera.overlay(soft, np.random.default_rng(4), 0.12, 1.0)
    changed = (np.abs(out.astype(int) - soft).max(axis=2) > 0).mean()
    assert 0 < changed < 0.5
    assert laplacian_variance(out) > laplacian_variance(soft) + 10


@pytest.mark.parametrize("kind", sorted(camera.RESAMPLERS))
def test_resampling_kinds_give_the_requested_size(kind: str) -> None:
    img = np.zeros((100, 150, 3), np.uint8)
    assert camera.resample_by(img, 0.4, kind).shape == (40, 60, 3)
