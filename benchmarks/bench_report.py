"""Benchmark the HTML audit report: size and write time for N synthetic results.

Usage: ``python benchmarks/bench_report.py [N ...]`` (default: 1000 20000).
Rows are generated lazily (a generator, as ``iqa audit`` passes them) and point at a
small set of real generated photos, so thumbnails are real decodes; about 2 % of the
rows are unreadable files.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.labels import LABELS  # noqa: E402
from iqa.auditor.results import AuditResult, AuditSummary, encode_patches  # noqa: E402
from iqa.reports.html import write_audit_report  # noqa: E402

PHOTOS = 12
SIZE = (1024, 768)  # analysis scale (w, h) of the generated photos


def make_photos(root: Path, count: int = PHOTOS) -> list[str]:
    """Write ``count`` photo-like JPEGs (smooth colour fields + shapes, some blurred)."""
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        w, h = SIZE
        img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(25):
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            cv2.circle(img, centre, int(rng.integers(10, 120)), colour, -1)
        if i % 3 == 0:
            img = cv2.GaussianBlur(img, (0, 0), 3)
        name = f"IMG_{i:04d}.jpg"
        cv2.imwrite(str(root / name), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        names.append(name)
    return names


def synthetic_rows(n: int, root: Path, names: list[str], seed: int = 1) -> Iterator[AuditResult]:
    """``n`` audit rows with random probabilities, patch maps and 2 % errors."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    for i in range(n):
        if i % 50 == 7:
            yield AuditResult(path=f"broken/{i}.jpg", status="error", error="cannot decode: truncated", root=str(root))
            continue
        p = rng.dirichlet([2, 3, 1.5])
        k = int(p.argmax())
        cells = rng.choice((h // 64) * (w // 64), 16, replace=False)
        corners = [(int(c // (w // 64)) * 64, int(c % (w // 64)) * 64) for c in cells]
        yield AuditResult(path=names[i % len(names)], status="ok", label=LABELS[k], confidence=float(p[k]),
                          p_blurry=float(p[0]), p_original=float(p[1]), p_sharp=float(p[2]),
                          sharpness=float(10 ** rng.normal(2.3, 0.6)), width=4032, height=3024, format="JPEG",
                          bytes=3_000_000, camera="Synthetic Cam", lens="35mm", root=str(root),
                          analysis_width=w, analysis_height=h, patch_size=64,
                          patches=encode_patches(corners, rng.uniform(0, 1, 16)))


def run(n: int, root: Path, names: list[str], out_dir: Path) -> tuple[float, float]:
    """Write the report for ``n`` rows; return (size in KB, seconds)."""
    errors = len(range(7, n, 50))
    summary = AuditSummary(n, errors, {}, n / 40.0, "iqa-bench", "0", (str(root),))
    start = time.perf_counter()
    out = write_audit_report(synthetic_rows(n, root, names), out_dir / f"report_{n}.html", summary)
    return out.stat().st_size / 1024, time.perf_counter() - start


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 20000]
    with tempfile.TemporaryDirectory(prefix="iqa-bench-") as tmp:
        root = Path(tmp) / "photos"
        root.mkdir()
        names = make_photos(root)
        for n in sizes:
            kb, seconds = run(n, root, names, Path(tmp))
            print(f"N={n:>6,}  report {kb:8.1f} KB  written in {seconds:6.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
