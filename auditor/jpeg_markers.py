"""Scanning a JPEG's marker segments at C speed, before any decoder sees the bytes."""
from __future__ import annotations

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers (not DHT, JPG, DAC)


def has_frame_header(data: bytes) -> bool:
    """Whether the JPEG ``data`` holds a frame header (SOFn) before its first scan.

    Pillow scans for markers byte by byte in Python, so a JPEG marker followed by megabytes of
    zeros would take seconds per 10 MB there; here segments are skipped by their length and junk
    between them with ``bytes.find``.
    """
    return _frame_header(data) >= 0


def frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the JPEG ``data``'s frame header; None without one (or a zero size)."""
    pos = _frame_header(data) if data[:2] == b"\xff\xd8" else -1
    if pos < 0 or pos + 9 > len(data):
        return None
    height, width = (data[pos + 5] << 8) | data[pos + 6], (data[pos + 7] << 8) | data[pos + 8]
    return (width, height) if width and height else None


def _frame_header(data: bytes) -> int:
    """Offset of the first frame header's marker before any scan, or -1 (SOI not checked)."""
    pos, n = 2, len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            return -1
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker in _SOF_MARKERS:
            return pos
        elif marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return -1
        elif marker in (0x00, 0x01) or 0xD0 <= marker <= 0xD8:  # stuffed byte, TEM, RSTn, SOI: no length
            pos += 2
        elif pos + 3 < n:
            pos += 2 + ((data[pos + 2] << 8) | data[pos + 3])
        else:
            return -1
