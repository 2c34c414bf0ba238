"""What the audit report keeps of a run: bounded heaps of sample rows and compact plot arrays.

One pass, bounded memory: the galleries' most confident and borderline rows per label, the
flagged rows with the highest probability of their label, the first unreadable files and a
tally of reasons, and one float per row for the plots (:mod:`array`, 8 bytes a value).
"""
from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iqa.auditor.labels import BLURRY, LABELS, SHARP
from iqa.auditor.results import AuditResult

FLAGGED_LABELS: tuple[str, ...] = (BLURRY, SHARP)
MAX_REASONS = 200


def finite(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else None."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class TopK:
    """The ``k`` items with the largest keys seen so far (earlier items win ties)."""

    def __init__(self, k: int) -> None:
        self.k, self._heap, self._seq = max(0, k), [], 0  # type: ignore[var-annotated]

    def push(self, key: float, item: AuditResult) -> bool:
        """Offer ``item``; True when it is among the best ``k`` now."""
        self._seq += 1
        entry = (key, -self._seq, item)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        elif self.k and entry[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, entry)
        else:
            return False
        return True

    def items(self) -> list[AuditResult]:
        """The items held, in no particular order."""
        return [e[2] for e in self._heap]

    def best(self) -> list[AuditResult]:
        return [e[2] for e in sorted(self._heap, key=lambda e: e[:2], reverse=True)]


@dataclass
class Digest:
    """Everything the report needs, accumulated in one pass with bounded memory."""

    per_label: int
    flagged_cap: int
    error_cap: int
    counts: Counter = field(default_factory=Counter)
    p_blurry: dict[str, array] = field(default_factory=lambda: {k: array("d") for k in LABELS})
    sharpness: dict[str, array] = field(default_factory=lambda: {k: array("d") for k in LABELS})
    confident: dict[str, TopK] = field(init=False)  # sized from the caps in __post_init__
    borderline: dict[str, TopK] = field(init=False)
    flagged: dict[str, TopK] = field(init=False)
    flagged_total: Counter = field(default_factory=Counter)
    errors: list[AuditResult] = field(default_factory=list)
    error_total: int = 0
    reasons: Counter = field(default_factory=Counter)
    unknown_label: int = 0

    def __post_init__(self) -> None:
        top = self.per_label - self.per_label // 2
        self.confident = {k: TopK(top) for k in LABELS}
        self.borderline = {k: TopK(self.per_label // 2) for k in LABELS}
        self.flagged = {k: TopK(self.flagged_cap) for k in FLAGGED_LABELS}

    def add(self, r: AuditResult) -> bool:
        """Take one row; True when it now sits in a gallery or flagged list (its thumbnail is wanted)."""
        if not r.ok:
            self._add_error(r)
            return False
        if r.label not in LABELS:
            self.unknown_label += 1
            return False
        self.counts[r.label] += 1
        p_label = finite(getattr(r, f"p_{r.label}"))
        conf = finite(r.confidence)
        conf = conf if conf is not None else p_label or 0.0
        for target, value in ((self.p_blurry, r.p_blurry), (self.sharpness, r.sharpness)):
            if (v := finite(value)) is not None:
                target[r.label].append(v)
        held = self.confident[r.label].push(conf, r)
        held = self.borderline[r.label].push(-conf, r) or held
        if r.label in self.flagged:
            self.flagged_total[r.label] += 1
            held = self.flagged[r.label].push(p_label or conf, r) or held
        return held

    def held(self) -> Iterator[AuditResult]:
        """Every row in a gallery or flagged list now (a row may come more than once)."""
        for heaps in (self.confident, self.borderline, self.flagged):
            for heap in heaps.values():
                yield from heap.items()

    def _add_error(self, r: AuditResult) -> None:
        self.error_total += 1
        if len(self.errors) < self.error_cap:
            self.errors.append(r)
        reason = (r.error or "unknown error").strip()[:200]
        if reason in self.reasons or len(self.reasons) < MAX_REASONS:
            self.reasons[reason] += 1
        else:
            self.reasons["(other reasons)"] += 1
