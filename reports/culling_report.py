"""The culling parts of the audit report: bursts, delete candidates, exposure, links to files.

Accumulated in the report's single pass with bounded memory: the first ``bursts_cap``
groups (group numbers follow the walk order, so these are the first groups met), at most
``frames_cap`` frames each (the best frame always kept), the first ``rejects_cap`` delete
candidates and ``exposure_cap`` exposure problems in walk order, plus totals.
Thumbnails go through :class:`ThumbMemo`, so a file shown in several sections is decoded once
(or not at all when its worker's thumbnail was kept).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from iqa.auditor.exposure import OVER, UNDER
from iqa.auditor.results import AuditResult
from iqa.reports.culling import reject_reason
from iqa.reports.thumb_store import ThumbStore
from iqa.reports.thumbnails import SMALL_SIDE, Thumb, make_thumb, source_path


def file_href(result: AuditResult, report_dir: Path) -> str:
    """Link to the file of ``result`` from a report in ``report_dir``: relative, percent-encoded.

    Every byte outside the unreserved set (``<``, ``"``, ``#``, ``?``, ``%``, ``:``, spaces,
    line breaks, undecodable bytes) is percent-encoded, so the href can neither leave its
    attribute nor turn into another scheme; an absolute ``file:`` URI when no relative path exists.
    """
    target = source_path(result)
    try:
        rel = os.path.relpath(target, report_dir)
    except ValueError:  # pragma: no cover - another drive on Windows
        return Path(os.path.abspath(target)).as_uri()
    return quote(os.fsencode(rel).replace(os.sep.encode(), b"/"), safe="/")


class ThumbMemo:
    """``make_thumb`` with a per-report memory: one decode per file and size.

    The patch map is drawn only when asked (the burst strips and plain lists do not need
    it); a file first seen without one is decoded again only if a later caller wants its map.
    """

    def __init__(self, jpegs: ThumbStore | None = None) -> None:
        self._seen: dict[tuple[str, str, int], Thumb] = {}
        # thumbnails the workers made, by (root, path): no decode for those; their small ones
        # (long side SMALL_SIDE) serve the tables as they are
        self._jpegs = jpegs if jpegs is not None else ThumbStore()

    def __call__(self, result: AuditResult, side: int, with_map: bool = True) -> Thumb:
        key = (result.root, result.path, side)
        found = self._seen.get(key)
        if found is None or (with_map and not found.map_src and not found.error and result.patches):
            file = (result.root, result.path)
            jpeg = self._jpegs.get(file, small=True) if side <= SMALL_SIDE else None
            jpeg = jpeg or self._jpegs.get(file)
            found = self._seen[key] = make_thumb(result, side, with_map=with_map, jpeg=jpeg)
        return found


@dataclass
class CullDigest:
    """Bursts, delete candidates and exposure problems of one audit, with bounded memory."""

    bursts_cap: int = 40
    frames_cap: int = 12
    rejects_cap: int = 300
    reject_thumbs: int = 100  # blurry ones also sit, with their patch maps, in the flagged table
    exposure_cap: int = 100
    groups: dict[int, list[AuditResult]] = field(default_factory=dict)
    group_sizes: Counter = field(default_factory=Counter)
    group_kinds: dict[int, str] = field(default_factory=dict)
    rejects: list[tuple[AuditResult, str]] = field(default_factory=list)
    reject_total: int = 0
    exposure: list[AuditResult] = field(default_factory=list)
    exposure_counts: Counter = field(default_factory=Counter)

    def add(self, r: AuditResult) -> bool:
        """Take one row; True when it is shown (its thumbnail is wanted)."""
        if not r.ok:
            return False
        held = r.group is not None and self._add_member(r)
        if reason := reject_reason(r):
            self.reject_total += 1
            if len(self.rejects) < self.rejects_cap:
                self.rejects.append((r, reason))
                held = True
        if r.exposure in (UNDER, OVER):
            self.exposure_counts[r.exposure] += 1
            if len(self.exposure) < self.exposure_cap:
                self.exposure.append(r)
                held = True
        return held

    def held(self) -> set[tuple[str, str]]:
        """``(root, path)`` of every row shown now."""
        rows = [r for members in self.groups.values() for r in members]
        rows += [r for r, _ in self.rejects] + self.exposure
        return {(r.root, r.path) for r in rows}

    def held_cap(self) -> int:
        """The most rows :meth:`held` can return."""
        return self.bursts_cap * self.frames_cap + self.rejects_cap + self.exposure_cap

    def _add_member(self, r: AuditResult) -> bool:
        g = int(r.group)  # type: ignore[arg-type]
        self.group_sizes[g] += 1
        self.group_kinds.setdefault(g, r.group_kind)
        if g not in self.groups and len(self.groups) >= self.bursts_cap:
            return False
        members = self.groups.setdefault(g, [])
        if len(members) < self.frames_cap:
            members.append(r)
        elif r.best_in_group == 1:  # the best frame is always shown
            members[-1] = r
        else:
            return False
        return True

    def context(self, row: Callable[..., dict[str, Any]], thumb: Callable[[AuditResult, int, bool], Thumb],
                strip_side: int, small_side: int) -> dict[str, Any]:
        """Template data; ``row(result, thumb)`` renders one file as the report does everywhere."""
        bursts = [{"group": g, "kind": self.group_kinds.get(g) or "group", "size": self.group_sizes[g],
                   "frames": [row(r, thumb(r, strip_side, False)) | {"best": r.best_in_group == 1} for r in members]}
                  for g, members in sorted(self.groups.items())]
        rejects = [row(r, thumb(r, small_side, False) if i < self.reject_thumbs else None) | {"reason": reason}
                   for i, (r, reason) in enumerate(self.rejects)]
        exposure = [row(r, thumb(r, small_side, False)) for r in self.exposure]
        return {"bursts": bursts, "group_total": len(self.group_sizes),
                "grouped_files": sum(self.group_sizes.values()),
                "rejects": rejects, "reject_total": self.reject_total, "exposure": exposure,
                "exposure_counts": {k: self.exposure_counts[k] for k in (UNDER, OVER)},
                "caps": {"bursts": self.bursts_cap, "frames": self.frames_cap, "rejects": self.rejects_cap,
                         "exposure": self.exposure_cap}}
