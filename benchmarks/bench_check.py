"""Wall time of ``iqa check PHOTO`` vs a process that only imports TensorFlow, side by side.

usage: python benchmarks/bench_check.py [--photo FILE] [--rounds 7] [--source DIR]

Each round runs, as fresh subprocesses and in an order rotated every round:

* ``iqa check PHOTO`` (the pre-upload gate, one 7 MP camera-like JPEG by default);
* ``python -c "import tensorflow"``: the lower bound of any TensorFlow-based checker;
* ``python -c pass``: bare interpreter start-up, for reference.

One untimed warm-up round comes first (so every run reads its libraries from the page
cache). Prints the median and best wall time of each and the ratio
import-tensorflow / iqa-check (targets: iqa check median < 0.5 s, ratio >= 5).
Without --photo, one 3072x2304 JPEG is generated once under /tmp/iqa-bench.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import checkout_env, interleaved_rounds, iqa_command  # noqa: E402
from make_photos import DEFAULT_SOURCE, ensure_photos  # noqa: E402

TARGET_SECONDS = 0.5
TARGET_RATIO = 5.0


def commands(photo: Path) -> dict[str, list[str]]:
    iqa = iqa_command()
    return {
        "iqa check": iqa + ["check", str(photo)],
        "import tensorflow": [sys.executable, "-c", "import tensorflow"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }


def timed_run(name: str, cmd: list[str]) -> float:
    """Wall seconds of one run; exits when the command failed (iqa check may exit 0 or 1)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=checkout_env())
    seconds = time.perf_counter() - start
    ok = proc.returncode in (0, 1) if name == "iqa check" else proc.returncode == 0
    if not ok:
        sys.exit(f"{name} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return seconds


def run_rounds(cmds: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    def line(times: dict[str, float]) -> str:
        return "  ".join(f"{name} {seconds:6.3f}" for name, seconds in times.items()) + "  (s)"

    return interleaved_rounds(list(cmds), rounds, lambda name: timed_run(name, cmds[name]), line)


def report(times: dict[str, list[float]]) -> None:
    print(f"\n{'':20}{'median s':>9}{'best s':>9}")
    for name, values in times.items():
        print(f"{name:<20}{statistics.median(values):9.3f}{min(values):9.3f}")
    check = statistics.median(times["iqa check"])
    tf = statistics.median(times["import tensorflow"])
    ratio = tf / check
    best_ratio = min(times["import tensorflow"]) / min(times["iqa check"])
    print(f"\niqa check median {check:.3f} s: {'meets' if check < TARGET_SECONDS else 'MISSES'} "
          f"target < {TARGET_SECONDS:g} s")
    print(f"import tensorflow / iqa check: {ratio:.2f}x median ({best_ratio:.2f}x best): "
          f"{'meets' if ratio >= TARGET_RATIO else 'MISSES'} target >= {TARGET_RATIO:g}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", type=Path, default=None, help="file to check (default: a generated 7 MP JPEG)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="source photos for the generator")
    args = ap.parse_args()
    photo = args.photo or sorted(ensure_photos("7mp", 1, args.source).glob("*.jpg"))[0]
    print(f"photo {photo} ({photo.stat().st_size / 1e6:.2f} MB); {args.rounds} rounds + 1 warm-up")
    report(run_rounds(commands(photo), args.rounds))


if __name__ == "__main__":
    main()
