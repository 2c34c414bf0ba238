"""The libjpeg-turbo fast path gives the picture Pillow gives: same orientation, size and content."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from iqa.auditor import imaging
from tests.conftest import textured


def _jpeg(path: Path, pixels: np.ndarray, orientation: int = 1, **params: object) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, format="JPEG", quality=95, exif=exif.tobytes(), **params)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_fast_path_matches_pillow_for_every_orientation(tmp_path: Path, orientation: int) -> None:
    path = _jpeg(tmp_path / "o.jpg", textured(400, 240, seed=orientation), orientation)
    fast = imaging._read_jpeg_fast(path, 160)
    slow = imaging._read_with_pillow(path, 160)
    assert fast is not None
    assert (fast.width, fast.height) == (slow.width, slow.height)
    assert fast.pixels.shape == slow.pixels.shape
    # both are reduced decodes of one JPEG (different DCT scales): close, not equal
    assert np.abs(fast.pixels.astype(int) - slow.pixels.astype(int)).mean() < 12


def test_fast_path_is_byte_exact_at_full_scale(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "full.jpg", textured(120, 80))
    fast = imaging._read_jpeg_fast(path, 1024)
    assert fast is not None
    assert np.array_equal(fast.pixels, imaging._read_with_pillow(path, 1024).pixels)


def test_decode_lands_on_the_analysis_size(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "big.jpg", textured(3001, 2003))
    img = imaging.open_image(path, 1024)
    assert img.pixels.shape[:2][::-1] == imaging.analysis_size(3001, 2003, 1024)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_come_out_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"{mode}.jpg"
    Image.fromarray(textured(200, 100)).convert(mode).save(path, format="JPEG")
    assert imaging.open_image(path, 64).pixels.shape == (32, 64, 3)


def test_truncated_jpeg_is_still_an_error(tmp_path: Path) -> None:
    data = _jpeg(tmp_path / "whole.jpg", textured(300, 200)).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(imaging.ImageLoadError):
        imaging.open_image(cut)


def test_resize_is_bilinear_up_to_twice_and_area_beyond() -> None:
    stripes = np.zeros((8, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # a one-pixel pattern: area averaging at 4x gives flat grey
    assert np.ptp(imaging.resize_to(stripes, (16, 2))) <= 1
    assert imaging.resize_to(stripes, (64, 8)) is stripes
