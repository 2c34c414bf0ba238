"""EXIF facts, orientation and the JPEG marker scan, each against Pillow's own reading."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from iqa.auditor.exif import apply_orientation, exif_summary
from iqa.auditor.jpeg_markers import frame_size, has_frame_header
from tests.conftest import textured


def _jpeg_bytes(pixels: np.ndarray, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90, **({"exif": exif.tobytes()} if exif else {}))
    return out.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_turns_like_pillow(orientation: int) -> None:
    pixels = textured(7, 5, seed=orientation)  # odd, unequal sides: any wrong turn changes the shape or pixels
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(apply_orientation(pixels, orientation), expected)


def test_unknown_orientation_leaves_pixels_alone() -> None:
    pixels = textured(6, 4)
    assert apply_orientation(pixels, 0) is pixels
    assert apply_orientation(pixels, 9) is pixels


def test_summary_joins_make_and_model_and_reads_the_exif_ifd() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Acme", "Shooter 3"
    exif.get_ifd(0x8769)[0x920A] = 4.5  # focal length lives in the Exif sub-IFD
    with Image.open(io.BytesIO(_jpeg_bytes(textured(32, 24), exif))) as im:
        facts = exif_summary(im)
    assert facts["camera"] == "Acme Shooter 3"
    assert float(facts["focal_length"]) == 4.5
    assert "make" not in facts


def test_no_exif_is_an_empty_summary() -> None:
    with Image.open(io.BytesIO(_jpeg_bytes(textured(16, 16)))) as im:
        assert exif_summary(im) == {}


def test_real_jpeg_has_a_frame_header_and_a_bare_marker_does_not() -> None:
    assert has_frame_header(_jpeg_bytes(textured(40, 30)))
    assert not has_frame_header(b"\xff\xd8\xff\xe0" + b"\x00" * 2_000_000)  # the slow case for Pillow
    assert not has_frame_header(b"\xff\xd8\xff\xda\x00\x02")  # scan data before any frame header


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=512))
def test_marker_scan_ends_on_any_bytes(junk: bytes) -> None:
    # any prefix junk after SOI terminates with an answer; a real header after it is still found
    assert isinstance(has_frame_header(b"\xff\xd8" + junk), bool)
    assert has_frame_header(b"\xff\xd8" + _jpeg_bytes(textured(8, 8))[2:])


def test_frame_size_reads_the_header() -> None:
    assert frame_size(_jpeg_bytes(textured(40, 30))) == (40, 30)
    assert frame_size(b"\xff\xd8\xff\xe0" + b"\x00" * 100) is None  # no frame header
    assert frame_size(b"GIF89a") is None and frame_size(b"") is None
    assert frame_size(_jpeg_bytes(textured(40, 30))[:40]) in (None, (40, 30))  # cut: never an error
