"""Fuzz the audit with >= 10,000 hostile files through the ``iqa audit`` command (a new process).

Builds a seeded hostile tree (tests/fuzz_inputs.py: every format mutated, truncated and
bit-flipped, bombs, odd names, deep nesting, links, FIFOs, sockets), changes some files
while the audit runs, samples the process tree in /proc, and prints:

* exit code, tracebacks and other lines on stderr,
* rows vs regular files (missing, extra, duplicated),
* errors by reason, damaged files reported ok (by construction or by an independent
  Pillow full decode + verify),
* longest stall between two rows vs the per-file timeout, and the report phase,
* peak RSS of the process tree (parent + workers).

Usage: ``nice python benchmarks/fuzz_audit.py --files 10000 --workers 2``
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import fuzz_inputs  # noqa: E402
from common import process_tree  # noqa: E402

from iqa.auditor.pipeline import AuditConfig  # noqa: E402
from iqa.reports.csv_io import read_results  # noqa: E402


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run(args: argparse.Namespace, work: Path) -> int:
    started = time.monotonic()
    man = fuzz_inputs.build(work / "tree", n_files=args.files, seed=args.seed, depth=args.depth)
    print(f"built {len(man.rows)} regular files (+{len(man.volatile)} changing, {len(man.skipped)} odd entries)"
          f" in {time.monotonic() - started:.1f} s", flush=True)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = work / "out"
    cmd = [sys.executable, "-m", "iqa", "audit", str(man.root), "-o", str(out), "--workers",
           str(args.workers), "--quiet"]
    mutator = fuzz_inputs.Mutator(man, seed=args.seed)
    mutator.start()
    stderr_path = work / "stderr.txt"
    with open(stderr_path, "w") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peak, last_size, last_growth, stall, csv = 0, -1, t0, 0.0, out / "audit.csv"
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            size = csv.stat().st_size if csv.exists() else 0
            now = time.monotonic()
            if size != last_size:
                stall = max(stall, now - last_growth) if last_size > 0 else stall
                last_size, last_growth = size, now
            time.sleep(0.05)
        wall = time.monotonic() - t0
    mutator.stop.set()
    mutator.join()
    report_phase = time.monotonic() - last_growth
    stderr = stderr_path.read_text(errors="replace")
    rows = read_results(csv) if csv.exists() else []
    counts = Counter(r.path for r in rows)
    seen = set(counts)
    missing = man.rows - seen
    extra = seen - man.rows - man.volatile
    damaged_ok = [r.path for r in rows if r.ok and r.path not in man.volatile and (
        r.path in man.damaged or not fuzz_inputs.pillow_decodes(os.path.join(r.root, r.path)))]
    reasons = Counter(re.sub(r"\d+", "N", r.error)[:70] for r in rows if not r.ok)
    man.close()
    print(f"command: {' '.join(cmd[1:4])} ... --workers {args.workers}  (exit code {proc.returncode},"
          f" {wall:.1f} s, {len(rows) / max(wall, 1e-9):.0f} rows/s)")
    print(f"rows {len(rows)} vs regular files {len(man.rows)} (+ {len(man.volatile)} changing during the run):"
          f" missing {len(missing)}, extra {len(extra)}, duplicated {sum(n > 1 for n in counts.values())}")
    print(f"ok {sum(r.ok for r in rows)}, errors {sum(not r.ok for r in rows)};"
          f" damaged files reported ok: {len(damaged_ok)} {damaged_ok[:5]}")
    print(f"tracebacks on stderr: {stderr.count('Traceback')}; stderr lines: {len(stderr.splitlines())}")
    print(f"longest stall between rows: {stall:.2f} s (per-file timeout {AuditConfig().file_timeout:g} s);"
          f" report phase {report_phase:.1f} s")
    print(f"peak RSS of the process tree: {peak / 2**20:.0f} MB")
    print("errors by reason:")
    for reason, n in reasons.most_common(args.reasons):
        print(f"  {n:>6}  {reason}")
    if stderr.strip():
        print("stderr tail:\n" + stderr[-1500:])
    good = (proc.returncode == 0 and not missing and not extra and not damaged_ok
            and "Traceback" not in stderr and max(counts.values(), default=1) == 1)
    return 0 if good else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--depth", type=int, default=1100, help="nesting depth of the deep folder")
    parser.add_argument("--reasons", type=int, default=15, help="error reasons to list")
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="iqa-fuzz-") as tmp:
        try:
            return run(args, Path(tmp))
        finally:  # shutil.rmtree recurses: the deep folder needs rm
            subprocess.run(["rm", "-rf", str(Path(tmp) / "tree")], check=False)


if __name__ == "__main__":
    raise SystemExit(main())
