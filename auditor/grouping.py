"""Group bursts and near-duplicates across a whole audit, and pick the best frame of each.

Candidates come from multi-index hashing, never from an all-pairs loop: the 64-bit
hash is cut into four 16-bit bands, and a file is compared only with files whose
hash has some band equal to, or one bit away from, its own. By the pigeonhole
principle this finds every pair within :data:`GUARANTEED_BITS` (7) bits; a pair is
joined when it is within :data:`MAX_BITS` and its EXIF agrees (see :func:`compatible`).
Groups are the connected components (union-find). Cost: about 68 dictionary probes
per file plus the few candidates found; memory: one small record per file.

Group numbers follow the order of the items (the CSV's walk order), so the same
rows always give the same groups: a resumed audit ends with the same CSV.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditor.phash import hamming

BANDS = 4
BAND_BITS = 16
GUARANTEED_BITS = BANDS * 2 - 1  # one flipped bit probed per band: any pair within 7 bits is seen
MAX_BITS = 7
BURST_WINDOW_S = 60.0  # two frames more than this apart (same camera) are different moments
DUPLICATE_BITS = 2
BURST, DUPLICATE, SIMILAR = "burst", "duplicate", "similar"
_MASK = (1 << BAND_BITS) - 1


@dataclass(frozen=True)
class Frame:
    """What grouping needs to know about one file.

    Attributes
    ----------
    hash : 64-bit perceptual hash (:func:`auditor.phash.dct_hash`); None or 0 (flat) joins nothing.
    captured : EXIF DateTimeOriginal text (``YYYY:MM:DD HH:MM:SS``) or "".
    camera : EXIF camera text or "".
    p_blurry : the blur model's probability (lower is sharper); None ranks last.
    exposure : exposure badness for tie-breaks (lower is better).
    sharpness : classical sharpness score, last tie-break (higher is better).
    """

    hash: int | None
    captured: str = ""
    camera: str = ""
    p_blurry: float | None = None
    exposure: float = 0.0
    sharpness: float = 0.0


@dataclass(frozen=True)
class Membership:
    """The group of one item: ``group`` numbered from 1, ``best`` for the chosen frame."""

    group: int
    best: bool
    kind: str


def capture_seconds(text: str) -> float | None:
    """Seconds since the epoch of an EXIF date-time text, None when absent or malformed."""
    try:
        return dt.datetime.strptime(text.strip()[:19], "%Y:%m:%d %H:%M:%S").timestamp()
    except ValueError:
        return None


def compatible(a: Frame, b: Frame, window: float = BURST_WINDOW_S) -> bool:
    """False when EXIF proves two look-alikes are different shots: other camera, or far apart in time."""
    if a.camera and b.camera and a.camera != b.camera:
        return False
    ta, tb = capture_seconds(a.captured), capture_seconds(b.captured)
    return ta is None or tb is None or abs(ta - tb) <= window


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def _probes(value: int) -> Iterable[int]:
    yield value
    for bit in range(BAND_BITS):
        yield value ^ (1 << bit)


def near_pairs(hashes: Sequence[int | None], max_bits: int = MAX_BITS) -> Iterable[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``j < i``, whose hashes differ in at most ``max_bits`` bits.

    Complete for ``max_bits <= GUARANTEED_BITS``; beyond it, pairs are found only when
    some band differs by at most one bit. Identical hashes are chained (each item
    paired with the previous one of the same hash), so a thousand identical frames
    cost a thousand pairs, not half a million. ``None`` and 0 (a flat image: nothing to
    compare) are never paired.
    """
    buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(BANDS)]
    last_same: dict[int, int] = {}
    for i, h in enumerate(hashes):
        if not h:
            continue
        if h in last_same:
            yield i, last_same[h]
        else:
            seen: set[int] = set()
            for band in range(BANDS):
                table = buckets[band]
                for probe in _probes((h >> (band * BAND_BITS)) & _MASK):
                    for j in table.get(probe, ()):
                        if j not in seen:
                            seen.add(j)
                            if hamming(h, hashes[j]) <= max_bits:
                                yield i, j
            for band in range(BANDS):
                buckets[band][(h >> (band * BAND_BITS)) & _MASK].append(i)
        last_same[h] = i


def _rank(frame: Frame) -> tuple[float, float, float]:
    # the blur model first (to 0.01: closer than that is noise), then exposure, then the classical score
    p = 1.0 if frame.p_blurry is None else frame.p_blurry
    return round(p, 2), round(frame.exposure, 2), -frame.sharpness


def _kind(frames: Sequence[Frame]) -> str:
    times = {t for f in frames if (t := capture_seconds(f.captured)) is not None}
    if len(times) > 1:
        return BURST
    spread = max(hamming(frames[0].hash or 0, f.hash or 0) for f in frames)
    return DUPLICATE if spread <= DUPLICATE_BITS else SIMILAR


def assign_groups(frames: Sequence[Frame], max_bits: int = MAX_BITS,
                  window: float = BURST_WINDOW_S) -> dict[int, Membership]:
    """Group look-alike frames; returns the membership of every item that has company.

    Parameters
    ----------
    frames : one per file, in a stable order (the CSV's walk order).
    max_bits : largest hash distance that joins two frames.
    window : seconds within which two frames of one camera can be one burst.

    Returns
    -------
    dict[int, Membership]
        Keyed by index into ``frames``; files alone are absent. Groups are numbered
        1, 2, ... in the order of their first member; ``kind`` is ``burst`` (several
        capture times), ``duplicate`` (hashes within 2 bits, one capture time at most)
        or ``similar``.
    """
    uf = _UnionFind(len(frames))
    for i, j in near_pairs([f.hash for f in frames], max_bits):
        if compatible(frames[i], frames[j], window):
            uf.union(i, j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(frames)):
        members[uf.find(i)].append(i)
    out: dict[int, Membership] = {}
    number = 0
    for root in sorted(r for r, m in members.items() if len(m) > 1):  # a root is its smallest index
        number += 1
        idx = members[root]
        best = min(idx, key=lambda i: (_rank(frames[i]), i))
        kind = _kind([frames[i] for i in idx])
        out.update({i: Membership(number, i == best, kind) for i in idx})
    return out
