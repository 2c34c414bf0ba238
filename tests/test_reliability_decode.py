"""Regression tests of issue 11 for the decoder guard: damaged files never get a verdict,
non-regular files are never opened, huge or slow inputs are refused cheaply."""
from __future__ import annotations

import io
import os
import signal
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.safe_open import UnsafeFileError, open_regular
from conftest import textured
from fuzz_inputs import pillow_decodes_bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(ihdr: bytes, idat: bytes, extra: bytes = b"") -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


RGB_64x48 = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)


@pytest.fixture
def no_hang():
    """Fail (instead of hanging the suite) when the test blocks for more than 10 s."""
    def boom(*_: object) -> None:
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, boom)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _exif_chunk() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    return _chunk(b"eXIf", exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes())


@pytest.mark.parametrize("extra", [b"", "exif"])
def test_png_whose_idat_is_not_zlib_is_an_error(tmp_path: Path, extra: object) -> None:
    # issue 11 item 1: getexif() decoded the image, a broad except hid the error, load() then passed
    path = tmp_path / "bad.png"
    path.write_bytes(_png(RGB_64x48, b"not a zlib stream " * 20, _exif_chunk() if extra else b""))
    with pytest.raises(ImageLoadError, match="cannot decode"):
        open_image(path)


def test_png_with_a_corrupt_idat_crc_is_an_error(tmp_path: Path) -> None:
    raw = b"".join(b"\x00" + bytes(range(64)) * 3 for _ in range(48))
    data = bytearray(_png(RGB_64x48, zlib.compress(raw)))
    data[-12 - 5] ^= 0x01  # last byte of the IDAT CRC: the pixels themselves still inflate
    path = tmp_path / "crc.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError):
        open_image(path)


def test_a_good_png_still_decodes_identically(tmp_path: Path) -> None:
    pixels = textured(70, 50)
    Image.fromarray(pixels).save(tmp_path / "ok.png")
    assert np.array_equal(open_image(tmp_path / "ok.png").pixels, pixels)


def test_fifo_is_refused_without_blocking(tmp_path: Path, no_hang: None) -> None:
    # issue 11 item 2: the report's thumbnail loader blocked forever on a FIFO
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageLoadError, match="not a regular file"):
        open_image(fifo)
    with pytest.raises(UnsafeFileError):
        open_regular(fifo)
    from iqa.auditor.results import AuditResult
    from iqa.reports.thumbnails import make_thumb

    thumb = make_thumb(AuditResult(path="photo.jpg", status="ok", root=str(tmp_path)))
    assert "not a regular file" in thumb.error


def test_directory_and_oversized_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="not a regular file"):
        open_image(tmp_path)
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.truncate(2 << 30)  # sparse: costs no disk
    with pytest.raises(ImageLoadError, match="too large"):
        open_image(big)


def test_huge_one_bit_png_is_refused_before_decoding(tmp_path: Path) -> None:
    # issue 11 item 6: 24 KB on disk, 14142x14142 pixels, 2.2 GB and 22 s before the fix
    side = 14142
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    path = tmp_path / "huge.png"
    path.write_bytes(_png(struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0), zlib.compress(row * side, 9)))
    assert path.stat().st_size < 100_000
    started = time.monotonic()
    with pytest.raises(ImageLoadError, match="too large to decode"):
        open_image(path)
    assert time.monotonic() - started < 1.0


def test_jpeg_magic_then_zeros_fails_fast(tmp_path: Path) -> None:
    # issue 11 item 7: Pillow scanned the zeros for a marker one byte at a time
    path = tmp_path / "zeros.jpg"
    path.write_bytes(b"\xff\xd8\xff" + bytes(30_000_000))
    started = time.monotonic()
    with pytest.raises(ImageLoadError):
        open_image(path)
    assert time.monotonic() - started < 1.0


def _seed_files() -> dict[str, bytes]:
    out = {}
    for fmt in ("PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"):
        buf = io.BytesIO()
        Image.fromarray(textured(48, 32, seed=3)).save(buf, format=fmt)
        out[fmt] = buf.getvalue()
    return out


SEEDS = _seed_files()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(SEEDS)), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)),
                                                         min_size=0, max_size=4),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_file_is_either_an_error_or_decodable(tmp_path: Path, fmt: str,
                                                      flips: list[tuple[float, int]], cut: float | None) -> None:
    data = bytearray(SEEDS[fmt])
    for where, bit in flips:
        data[min(len(data) - 1, int(where * len(data)))] ^= 1 << bit
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path / f"m.{fmt.lower()}"
    path.write_bytes(bytes(data))
    try:
        img = open_image(path, 64)
    except ImageLoadError as exc:
        assert str(exc)
        return
    assert pillow_decodes_bytes(bytes(data)), "a file Pillow cannot fully decode got pixels"
    assert img.pixels.dtype == np.uint8 and img.pixels.ndim == 3
