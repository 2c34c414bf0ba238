"""Audit throughput vs the decode-only floor and vs cleanvision, side by side on one folder.

usage: python benchmarks/bench_audit.py [--size {7mp,vga}] [--photos DIR] [--count N]
                                        [--workers 2] [--rounds 5] [--source DIR]

Contenders (same files, same number of worker processes, run in interleaved rounds, the
order rotated every round, after one untimed warm-up round that also fills the page cache):

* decode-only floor: ``multiprocessing.Pool(workers)`` (spawn, as the audit uses) mapping
  ``auditor.imaging.open_image(path, 1024)`` over the files (only the shape is sent back);
* the same floor with a fork pool (no interpreter start-up in the workers), for reference;
* the full audit: ``auditor.pipeline.audit`` at ``max_side=1024``, iterator consumed;
* cleanvision's blur check: ``Imagelab(data_path=folder).find_issues({"blurry": {}},
  n_jobs=workers)`` (skipped with a message when cleanvision is not installed). Note that
  cleanvision decodes every file at full size, then scores a 64 px thumbnail.

Prints images/s (best and median round) per contender and the ratios audit/decode
(target >= 0.8) and audit/cleanvision (target >= 1.6 on 7 MP, >= 1.0 on 640x480), from
the best rounds. Without --photos, the folder is generated once under /tmp/iqa-bench
(60 files of 7 MP, or 300 of 640x480) by benchmarks/make_photos.py.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import interleaved_rounds  # noqa: E402
from make_photos import DEFAULT_COUNT, DEFAULT_SOURCE, ensure_photos  # noqa: E402

from iqa.auditor.imaging import open_image  # noqa: E402
from iqa.auditor.walk import iter_image_files  # noqa: E402

MAX_SIDE = 1024
TARGET_VS_DECODE = 0.8
TARGET_VS_CLEANVISION = {"7mp": 1.6, "vga": 1.0}

Contender = Callable[[], int]


def decode_one(path: str) -> tuple[int, ...]:
    """Worker of the floor: decode at analysis scale, send back only the shape."""
    return open_image(path, MAX_SIDE).pixels.shape


def image_files(folder: Path) -> list[str]:
    """The files ``iqa audit`` would audit under ``folder``, so every contender gets the same list."""
    return [os.path.join(root, rel) for root, rel in iter_image_files([str(folder)])]


def decode_floor(files: list[str], workers: int, method: str) -> Contender:
    def run() -> int:
        with multiprocessing.get_context(method).Pool(workers) as pool:
            return len(pool.map(decode_one, files, chunksize=1))
    return run


def full_audit(folder: Path, workers: int) -> Contender:
    from iqa.auditor.pipeline import AuditConfig, audit

    config = AuditConfig(workers=workers, max_side=MAX_SIDE)

    def run() -> int:
        results = list(audit([folder], config))
        bad = [r for r in results if not r.ok]
        if bad:
            raise RuntimeError(f"audit reported {len(bad)} unreadable files, e.g. {bad[0].path}: {bad[0].error}")
        return len(results)
    return run


def cleanvision_blur(folder: Path, workers: int) -> Contender | None:
    try:
        from cleanvision import Imagelab
    except ImportError as exc:
        print(f"cleanvision: not installed ({exc}); skipped (pip install cleanvision)")
        return None

    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            lab = Imagelab(data_path=str(folder), verbose=False)
            lab.find_issues({"blurry": {}}, n_jobs=workers, verbose=False)
        return len(lab.issues)
    return run


def timed(fn: Contender) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def run_rounds(contenders: dict[str, Contender], rounds: int, expected: int) -> dict[str, list[float]]:
    """Images/s of every contender per round; the starting contender rotates each round."""
    def rate(name: str) -> float:
        seconds, n = timed(contenders[name])
        if n != expected:
            raise RuntimeError(f"{name} processed {n} files, expected {expected}")
        return n / seconds

    def line(rates: dict[str, float]) -> str:
        cells = "  ".join(f"{name} {value:6.1f}" for name, value in rates.items())
        return f"{cells}  (images/s; load {os.getloadavg()[0]:.1f})"

    return interleaved_rounds(list(contenders), rounds, rate, line)


def verdict(value: float, target: float) -> str:
    return "meets target" if value >= target else "BELOW target"


def ratio_line(rates: dict[str, list[float]], a: str, b: str) -> tuple[float, str]:
    """``a``/``b`` from the best rounds, with the median of the per-round ratios in brackets."""
    best = max(rates[a]) / max(rates[b])
    per_round = statistics.median(x / y for x, y in zip(rates[a], rates[b]))
    return best, f"{best:6.2f}  ({per_round:.2f})"


def report(rates: dict[str, list[float]], size: str) -> None:
    print("\nimages/s          best    median")
    for name, values in rates.items():
        print(f"{name:<15}{max(values):8.1f}{statistics.median(values):10.1f}")
    print("\nratios: best round vs best round (median of the per-round ratios in brackets)")
    for floor in ("decode-spawn", "decode-fork"):
        ratio, text = ratio_line(rates, "audit", floor)
        note = f"{verdict(ratio, TARGET_VS_DECODE)} >= {TARGET_VS_DECODE}" if floor == "decode-spawn" else "reference"
        print(f"audit / {floor:<13}{text}  {note}")
    if "cleanvision" in rates:
        target = TARGET_VS_CLEANVISION[size]
        ratio, text = ratio_line(rates, "audit", "cleanvision")
        print(f"audit / cleanvision  {text}  {verdict(ratio, target)} >= {target}")
    else:
        print("audit / cleanvision: not measured (cleanvision not installed)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(TARGET_VS_CLEANVISION), default="7mp",
                    help="photos to generate, and which cleanvision target applies")
    ap.add_argument("--photos", type=Path, default=None, help="folder of photos (default: generated)")
    ap.add_argument("--count", type=int, default=None, help="photos to generate (default: 60 7mp / 300 vga)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="source photos for the generator")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-cleanvision", action="store_true", help="leave cleanvision out")
    args = ap.parse_args()
    folder = args.photos or ensure_photos(args.size, args.count or DEFAULT_COUNT[args.size], args.source)
    files = image_files(folder)
    if not files:
        sys.exit(f"no images in {folder}")
    mean = sum(os.path.getsize(f) for f in files) / len(files)
    print(f"folder {folder}: {len(files)} images, mean file size {mean / 1e6:.2f} MB")
    print(f"workers {args.workers}, analysis scale {MAX_SIDE} px, rounds: {args.rounds} + 1 warm-up, "
          f"cores available {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    contenders: dict[str, Contender] = {
        "decode-spawn": decode_floor(files, args.workers, "spawn"),
        "decode-fork": decode_floor(files, args.workers, "fork"),
        "audit": full_audit(folder, args.workers),
    }
    cv = None if args.no_cleanvision else cleanvision_blur(folder, args.workers)
    if cv is not None:
        contenders["cleanvision"] = cv
    rates = run_rounds(contenders, args.rounds, len(files))
    report(rates, args.size)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
