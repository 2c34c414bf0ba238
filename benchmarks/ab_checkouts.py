"""``iqa audit`` of two or more checkouts on the same folder, side by side: did a change pay?

usage: python benchmarks/ab_checkouts.py DIR CHECKOUT [CHECKOUT ...] [--rounds 5]

Each CHECKOUT is a source tree of this project (e.g. ``git worktree add /tmp/base COMMIT``); each is
byte-compiled first, as ``pip install .`` would. Every round runs ``python -m iqa audit DIR -o OUT
--fresh -q`` once per checkout (``PYTHONPATH`` = that checkout), in a new process, CSV and report
included, after one untimed warm-up round; the starting checkout rotates each round. Prints wall
seconds (best and median round) per checkout, and each one's speed relative to the first
(best vs best, median of the per-round ratios in brackets; above 1: faster than the first).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import compile_checkout, interleaved_rounds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("checkouts", type=Path, nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    trees = [c.resolve() for c in args.checkouts]
    names = [str(t) for t in trees]
    if len(set(names)) != len(names):
        ap.error("each checkout once")
    for tree in trees:
        compile_checkout(tree)
    out = Path(tempfile.mkdtemp(prefix="iqa-ab-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "IQA_TIMINGS")}

    def measure(name: str) -> float:
        cmd = [sys.executable, "-m", "iqa", "audit", str(args.folder), "-o", str(out / Path(name).name), "--fresh", "-q"]
        start = time.perf_counter()
        subprocess.run(cmd, env=dict(env, PYTHONPATH=name), cwd=out, check=True)
        return time.perf_counter() - start

    times = interleaved_rounds(names, args.rounds, measure,
                               lambda r: "  ".join(f"{Path(n).name} {v:.2f} s" for n, v in r.items()))
    first = names[0]
    print(f"\n{'checkout':40s} {'best s':>8s} {'median s':>9s}  vs first")
    for name in names:
        ratios = [a / b for a, b in zip(times[first], times[name])]
        print(f"{name:40s} {min(times[name]):8.3f} {statistics.median(times[name]):9.3f}  "
              f"{min(times[first]) / min(times[name]):.3f}x ({statistics.median(ratios):.3f}x)")


if __name__ == "__main__":
    main()
