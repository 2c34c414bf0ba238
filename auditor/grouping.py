"""Group bursts and near-duplicates across a whole audit, and pick the best frame of each.

Two sources of candidate pairs, neither an all-pairs loop:

* look-alikes: multi-index hashing. The 64-bit hash is cut into four 16-bit bands and a
  file is compared only with files whose hash has some band equal to, or one bit away
  from, its own. By the pigeonhole principle this finds every pair within
  :data:`GUARANTEED_BITS` (7) bits, and most pairs up to :data:`MAX_BITS` (10), the
  distance that joins two files (unrelated photos are 14 bits apart or more, 32 typically);
* bursts: files with an EXIF capture time, sorted by (camera, time); each is compared with
  the :data:`BURST_NEIGHBOURS` previous frames of its camera within :data:`BURST_WINDOW_S`,
  and joined at a looser :data:`BURST_BITS` (18): shake and re-framing move a burst's
  frames up to ~20 bits apart, and the capture time says they belong together.

A pair is joined only when its EXIF agrees (see :func:`compatible`). Groups are the
connected components (union-find). Cost: about 68 dictionary probes per file plus the
few candidates found; memory: one small record per file.

Group numbers follow the order of the items (the CSV's walk order), so the same
rows always give the same groups: a resumed audit ends with the same CSV.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from iqa.auditor.phash import hamming

BANDS = 4
BAND_BITS = 16
GUARANTEED_BITS = BANDS * 2 - 1  # one flipped bit probed per band: any pair within 7 bits is seen
MAX_BITS = 10
BURST_BITS = 18
BURST_NEIGHBOURS = 8
BURST_WINDOW_S = 60.0  # two frames more than this apart (same camera) are different moments
DUPLICATE_BITS = 2
PICK_TOLERANCE = 0.2  # p_blurry closer than this to the burst's lowest is a tie
BURST, DUPLICATE, SIMILAR = "burst", "duplicate", "similar"
_MASK = (1 << BAND_BITS) - 1
# columns filled after the audit (registry form: ``Check("groups", COLUMNS, lambda pixels, grey: {})``)
COLUMNS: dict[str, type] = {"group": int, "group_kind": str, "best_in_group": int}


@dataclass(frozen=True)
class Frame:
    """What grouping needs to know about one file.

    Attributes
    ----------
    hash : 64-bit perceptual hash (:func:`auditor.phash.dct_hash`); None or 0 (flat) joins nothing.
    captured : EXIF DateTimeOriginal text (``YYYY:MM:DD HH:MM:SS``) or "".
    camera : EXIF camera text or "".
    p_blurry : the blur model's probability (lower is sharper); None ranks last.
    exposure_ok : False when the exposure check flagged the file (tie-break).
    sharpness : classical sharpness score, last tie-break (higher is better).
    over_sharpened : the model called it over-sharpened (tie-break: an untouched frame is kept first).
    """

    hash: int | None
    captured: str = ""
    camera: str = ""
    p_blurry: float | None = None
    exposure_ok: bool = True
    sharpness: float = 0.0
    over_sharpened: bool = False


@dataclass(frozen=True)
class Membership:
    """The group of one item: ``group`` numbered from 1, ``best`` for the chosen frame."""

    group: int
    best: bool
    kind: str


@functools.lru_cache(maxsize=1 << 16)
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


def timed_pairs(frames: Sequence[Frame], max_bits: int = BURST_BITS, window: float = BURST_WINDOW_S,
                neighbours: int = BURST_NEIGHBOURS) -> Iterable[tuple[int, int]]:
    """Pairs of frames shot by one camera within ``window`` seconds whose hashes are within ``max_bits``.

    Each frame is compared with at most ``neighbours`` earlier frames of its camera (time
    order), so the cost is linear after an ``n log n`` sort.
    """
    timed = sorted((f.camera, t, i) for i, f in enumerate(frames)
                   if f.hash and (t := capture_seconds(f.captured)) is not None)
    for pos, (camera, t, i) in enumerate(timed):
        for other_camera, other_t, j in reversed(timed[max(0, pos - neighbours):pos]):
            if other_camera != camera or t - other_t > window:
                break
            if hamming(frames[i].hash or 0, frames[j].hash or 0) <= max_bits:
                yield i, j


def pick_best(frames: Sequence[Frame], tolerance: float = PICK_TOLERANCE) -> int:
    """Index of the frame to keep: the one the blur model likes most, ties broken by exposure.

    Frames whose ``p_blurry`` is within ``tolerance`` of the lowest count as tied (the model
    saturates near 0 and 1, so closer values do not rank frames); among those, a frame the model
    did not call over-sharpened comes first (halos raise the classical score: an over-processed
    copy must not win on it), then one whose exposure is not flagged, then the highest classical
    sharpness score, which is comparable here because the frames show the same scene. Earlier
    frames win exact ties.
    """
    p = [1.0 if f.p_blurry is None else f.p_blurry for f in frames]
    low = min(p)
    tied = [i for i in range(len(frames)) if p[i] <= low + tolerance]
    return min(tied, key=lambda i: (frames[i].over_sharpened, not frames[i].exposure_ok, -frames[i].sharpness, i))


def _kind(frames: Sequence[Frame]) -> str:
    times = {t for f in frames if (t := capture_seconds(f.captured)) is not None}
    if len(times) > 1:
        return BURST
    spread = max(hamming(frames[0].hash or 0, f.hash or 0) for f in frames)
    return DUPLICATE if spread <= DUPLICATE_BITS else SIMILAR


def assign_groups(frames: Sequence[Frame], max_bits: int = MAX_BITS, burst_bits: int = BURST_BITS,
                  window: float = BURST_WINDOW_S) -> dict[int, Membership]:
    """Group look-alike frames; returns the membership of every item that has company.

    Parameters
    ----------
    frames : one per file, in a stable order (the CSV's walk order).
    max_bits : largest hash distance that joins two look-alike frames.
    burst_bits : largest hash distance that joins two frames of one camera shot within ``window``.
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
    for i, j in timed_pairs(frames, burst_bits, window):
        uf.union(i, j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(frames)):
        members[uf.find(i)].append(i)
    out: dict[int, Membership] = {}
    number = 0
    for root in sorted(r for r, m in members.items() if len(m) > 1):  # a root is its smallest index
        number += 1
        idx = members[root]
        best = idx[pick_best([frames[i] for i in idx])]
        kind = _kind([frames[i] for i in idx])
        out.update({i: Membership(number, i == best, kind) for i in idx})
    return out
