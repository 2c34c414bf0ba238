"""Exposure scores and the perceptual hash: properties that must hold for any image."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import textured
from skimage import data
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iqa.auditor.exposure import OK, OVER, UNDER, exposure_stats
from iqa.auditor.phash import dct_hash, from_hex, hamming, to_hex

images = arrays(np.uint8, st.tuples(st.integers(4, 24), st.integers(4, 24), st.just(3)))
gains = st.lists(st.floats(0.05, 1.0), min_size=2, max_size=5).map(lambda g: sorted(g, reverse=True))


def _scaled(img: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(np.round(img.astype(np.float64) * gain), 0, 255).astype(np.uint8)


def _brightened(img: np.ndarray, amount: float) -> np.ndarray:
    # move every pixel towards white by ``amount`` (0: unchanged, 1: white)
    return np.clip(np.round(img + (255.0 - img) * amount), 0, 255).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(images, gains)
def test_darkening_never_lowers_under_exposure(img: np.ndarray, steps: list[float]) -> None:
    stats = [exposure_stats(_scaled(img, g)) for g in steps]  # gains decreasing: darker and darker
    for lighter, darker in zip(stats, stats[1:]):
        assert darker.under_exposure >= lighter.under_exposure
        assert darker.shadows_clipped >= lighter.shadows_clipped
        assert darker.over_exposure <= lighter.over_exposure


@settings(max_examples=60, deadline=None)
@given(images, st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5).map(sorted))
def test_brightening_never_lowers_over_exposure(img: np.ndarray, steps: list[float]) -> None:
    stats = [exposure_stats(_brightened(img, a)) for a in steps]
    for darker, lighter in zip(stats, stats[1:]):
        assert lighter.over_exposure >= darker.over_exposure
        assert lighter.highlights_clipped >= darker.highlights_clipped
        assert lighter.under_exposure <= darker.under_exposure


@settings(max_examples=40, deadline=None)
@given(images)
def test_scores_are_fractions(img: np.ndarray) -> None:
    s = exposure_stats(img)
    for value in (s.shadows_clipped, s.highlights_clipped, s.under_exposure, s.over_exposure):
        assert 0.0 <= value <= 1.0
    assert s.flag in (OK, UNDER, OVER)


def test_flags_on_real_looking_images() -> None:
    photo = data.astronaut()  # a well exposed photo that scikit-image ships
    assert exposure_stats(photo).flag == OK
    dark, bright = _scaled(photo, 0.12), _brightened(photo, 0.8)
    assert exposure_stats(dark).flag == UNDER and exposure_stats(bright).flag == OVER
    assert exposure_stats(np.zeros((8, 8, 3), np.uint8)).under_exposure == 1.0
    assert exposure_stats(np.full((8, 8, 3), 255, np.uint8)).highlights_clipped == 1.0
    grey = np.full((20, 20), 128, np.uint8)
    assert exposure_stats(grey).flag == OK  # a grey image is accepted too


def test_phash_survives_blur_shift_and_jpeg_but_not_another_scene() -> None:
    photo = textured(320, 240, seed=2)
    h = dct_hash(photo)
    blurred = cv2.GaussianBlur(photo, (0, 0), 2.0)
    shifted = np.roll(photo, 3, axis=1)
    ok, buf = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 60])
    recoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    for variant in (blurred, shifted, recoded, cv2.resize(photo, (160, 120), interpolation=cv2.INTER_AREA)):
        assert hamming(h, dct_hash(variant)) <= 6
    other = np.ascontiguousarray(np.rot90(photo, 2))
    assert hamming(h, dct_hash(other)) >= 16
    assert dct_hash(np.full((30, 40, 3), 77, np.uint8)) == 0  # flat: nothing to hash


@given(st.integers(0, 2**64 - 1))
def test_hash_text_round_trip(value: int) -> None:
    text = to_hex(value)
    assert len(text) == 16 and from_hex(text) == value


def test_malformed_hash_text_is_none() -> None:
    assert from_hex("") is None and from_hex("xyz") is None and from_hex("g" * 16) is None
