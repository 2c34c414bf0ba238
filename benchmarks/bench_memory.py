"""Peak memory of a full ``iqa audit`` (parent + worker processes) on 1,000 vs 20,000 files.

usage: python benchmarks/bench_memory.py [--small 1000] [--large 20000] [--workers 2]
                                         [--pool 200] [--with-report] [--root DIR] [--source DIR]

The trees are hard links to ``--pool`` small (320x240) camera-like JPEGs built from the
shared photos by benchmarks/make_photos.py, 100 files per sub-folder, under
/tmp/iqa-bench (built once, a few MB of disk). Each audit runs as a subprocess
(``iqa audit TREE -o OUT --fresh --workers W --no-report``); every 50 ms the benchmark
reads /proc for the audit process and all its descendants and records the summed RSS
(VmRSS) and the summed PSS (smaps_rollup; shared library pages split between processes).

Prints, per run: files, wall time, peak summed RSS, peak summed PSS, peak RSS of the parent
alone and the most processes seen; then the ratio large/small of the peaks (target: <= 1.2,
i.e. within 20 %). ``--with-report`` measures a second pair with the HTML report on.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import checkout_env, iqa_command, process_tree  # noqa: E402
from make_photos import DEFAULT_ROOT, DEFAULT_SOURCE, ensure_photos  # noqa: E402

FILES_PER_DIR = 100
SAMPLE_SECONDS = 0.05
TARGET_RATIO = 1.2


@dataclass
class Peak:
    """Peaks seen while sampling one process tree (bytes)."""

    rss: int = 0
    pss: int = 0
    parent_rss: int = 0
    processes: int = 0
    samples: int = 0


def build_tree(dest: Path, count: int, photos: list[Path]) -> Path:
    """``count`` hard links to ``photos`` (cycled), 100 per sub-folder; reused when complete."""
    if dest.is_dir():
        return dest
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        for i in range(count):
            sub = tmp / f"d{i // FILES_PER_DIR:04d}"
            if i % FILES_PER_DIR == 0:
                sub.mkdir()
            os.link(photos[i % len(photos)], sub / f"IMG_{i:06d}.jpg")
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def read_kib(path: str, key: str) -> int:
    """Value in KiB of the ``key:`` line of a /proc file; 0 when the process is gone."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def sample(pid: int, peak: Peak) -> None:
    """Add one sample of the tree rooted at ``pid`` to ``peak``."""
    pids = process_tree(pid)
    rss = [read_kib(f"/proc/{p}/status", "VmRSS:") * 1024 for p in pids]
    pss = sum(read_kib(f"/proc/{p}/smaps_rollup", "Pss:") * 1024 for p in pids)
    peak.rss = max(peak.rss, sum(rss))
    peak.pss = max(peak.pss, pss)
    peak.parent_rss = max(peak.parent_rss, rss[0])
    peak.processes = max(peak.processes, len(pids))
    peak.samples += 1


def run_audit(tree: Path, out: Path, workers: int, report: bool) -> tuple[Peak, float]:
    """Run one ``iqa audit`` subprocess, sampling its process tree; returns the peaks and wall time."""
    cmd = iqa_command() + ["audit", str(tree), "-o", str(out), "--fresh", "--workers", str(workers)]
    if not report:
        cmd.append("--no-report")
    peak = Peak()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:  # a pipe nobody reads would fill up and stall the audit
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True, env=checkout_env())
        while proc.poll() is None:
            sample(proc.pid, peak)
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        sys.exit(f"iqa audit failed (exit {proc.returncode}): {' '.join(cmd)}\n{stderr[-2000:]}")
    return peak, seconds


def csv_rows(out: Path) -> int:
    with open(out / "audit.csv", encoding="utf-8", newline="") as fh:
        return sum(1 for _ in fh) - 1


def mib(n: int) -> str:
    return f"{n / 2**20:8.1f}"


def measure_pair(trees: dict[int, Path], workers: int, report: bool, work: Path) -> dict[int, Peak]:
    label = "report on" if report else "--no-report"
    print(f"\n{label}:")
    print(f"{'files':>7} {'wall s':>7} {'rows':>7} {'RSS MiB':>8} {'PSS MiB':>8} {'parent':>8} {'procs':>5} {'samples':>7}")
    peaks: dict[int, Peak] = {}
    for count, tree in trees.items():
        out = work / f"out-{count}-{'report' if report else 'csv'}"
        peak, seconds = run_audit(tree, out, workers, report)
        peaks[count] = peak
        print(f"{count:7d} {seconds:7.1f} {csv_rows(out):7d} {mib(peak.rss)} {mib(peak.pss)} "
              f"{mib(peak.parent_rss)} {peak.processes:5d} {peak.samples:7d}", flush=True)
    small, large = sorted(peaks)
    for name in ("rss", "pss", "parent_rss"):
        ratio = getattr(peaks[large], name) / max(1, getattr(peaks[small], name))
        verdict = "meets target" if ratio <= TARGET_RATIO else "ABOVE target"
        print(f"peak {name:<10} {large}/{small} files: {ratio:5.2f}  ({verdict} <= {TARGET_RATIO})")
    return peaks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pool", type=int, default=200, help="distinct JPEGs the trees link to")
    ap.add_argument("--with-report", action="store_true", help="also measure a pair with the HTML report")
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where trees and outputs go")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="source photos for the generator")
    args = ap.parse_args()
    photos_dir = ensure_photos("qvga", args.pool, args.source, args.root)
    photos = sorted(photos_dir.glob("*.jpg"))
    trees = {n: build_tree(args.root / f"tree-{n}-of-{args.pool}", n, photos) for n in (args.small, args.large)}
    print(f"trees: {', '.join(str(t) for t in trees.values())} (hard links to {len(photos)} JPEGs 320x240)")
    print(f"iqa audit --workers {args.workers}; sampled every {SAMPLE_SECONDS * 1000:.0f} ms, "
          f"summed over the process tree")
    with tempfile.TemporaryDirectory(prefix="iqa-mem-", dir=args.root) as work:
        measure_pair(trees, args.workers, report=False, work=Path(work))
        if args.with_report:
            measure_pair(trees, args.workers, report=True, work=Path(work))


if __name__ == "__main__":
    main()
