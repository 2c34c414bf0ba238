"""``iqa audit`` as the user runs it, side by side with the decode-only floor and cleanvision.

usage: python benchmarks/bench_audit.py [--size {vga,7mp,24mp}] [--count N] [--photos DIR]
                                        [--workers 2] [--rounds 3] [--no-cleanvision] [--no-pillow-floor]

Every contender is a new process on the same folder, run in interleaved rounds (the
starting contender rotates each round, after one untimed warm-up round that also fills
the page cache); the time is the wall clock from launch to exit:

* ``iqa``: ``python -m iqa audit DIR -o OUT --fresh -q`` of this checkout (CSV and
  report.html, every core's worth of ``--workers``). With ``IQA_TIMINGS=1`` the command
  stamps its phases on stderr, which gives the breakdown: start-up (launch to first
  result: interpreter, imports, model, pool start, first file), per-file work (first
  result to the last), report (HTML with thumbnails and plots) and shutdown (to exit);
* ``floor-simplejpeg`` / ``floor-pillow``: ``benchmarks/decode_floor.py``, a fork pool of the
  same number of processes that only decodes each JPEG at analysis scale (libjpeg-turbo's
  reduced-size DCT decode just above it, then one resize) -- the faster of the two is
  *the floor*;
* ``cleanvision``: ``Imagelab(data_path=DIR).find_issues({"blurry": {}}, n_jobs=workers)``.
  (fastdup is not measured: its wheel pins numpy 1.26 and Pillow 10 over this environment.)

Prints seconds, images/s (best and median round) and CPU seconds (summed over the process
tree, sampled from /proc every 50 ms) per contender, the iqa breakdown
of its best round, and the ratios iqa vs floor and iqa vs cleanvision (a ratio above 1
means iqa is faster), best round against best round with the median of the per-round
ratios in brackets, with the targets of issue 10. Without --photos the folder is built
once under /tmp/iqa-bench by benchmarks/make_photos.py.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TreeCpu, checkout_env, cpu_summary, interleaved_rounds, iqa_command  # noqa: E402
from make_photos import DEFAULT_COUNT, DEFAULT_SOURCE, ensure_photos  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FLOOR = Path(__file__).resolve().with_name("decode_floor.py")
PHASES = ("start-up", "per-file", "report", "shutdown")
SAMPLE_SECONDS = 0.05  # /proc sampling of the contender's process tree (CPU column)


def targets(size: str, count: int) -> dict[str, float]:
    """Issue 10's acceptance ratios for this folder (iqa speed / contender speed)."""
    if size == "vga":
        return {"cleanvision": 1.5}
    if size == "24mp":
        return {"floor": 0.8}
    if count >= 400:
        return {"floor": 1.0}
    return {"floor": 0.8, "cleanvision": 2.0}


def environment() -> dict[str, str]:
    env = checkout_env()
    env.pop("IQA_TIMINGS", None)
    return env


class Contenders:
    """Commands of one folder; :meth:`run` times one of them and checks it did the whole folder."""

    def __init__(self, folder: Path, files: int, workers: int, out: Path) -> None:
        self.folder, self.files, self.workers, self.out = folder, files, workers, out
        self.breakdowns: list[dict[str, float]] = []
        self.cpu: dict[str, list[float]] = {}  # CPU seconds (user + sys) of the process and its workers
        cv = ("import contextlib, io, sys\nfrom cleanvision import Imagelab\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              f"    lab = Imagelab(data_path={str(folder)!r})\n"
              f"    lab.find_issues({{'blurry': {{}}}}, n_jobs={workers}, verbose=False)\n"
              "print(len(lab.issues))\n")
        self.commands: dict[str, list[str]] = {
            "iqa": iqa_command() + ["audit", str(folder), "-o", str(out), "--fresh", "-q",
                    "--workers", str(workers)],
            "floor-simplejpeg": [sys.executable, str(FLOOR), str(folder), "--method", "simplejpeg",
                                 "--workers", str(workers)],
            "floor-pillow": [sys.executable, str(FLOOR), str(folder), "--method", "pillow", "--workers", str(workers)],
            "cleanvision": [sys.executable, "-c", cv],
        }

    def run(self, name: str) -> float:
        env = environment()
        if name == "iqa":
            env["IQA_TIMINGS"] = "1"
        launched = time.time()
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(self.commands[name], cwd=REPO, env=env, stdout=out, stderr=err, text=True)
            cpu, finished = TreeCpu(), []
            waiter = threading.Thread(target=lambda: finished.append((proc.wait(), time.perf_counter())))
            waiter.start()
            while waiter.is_alive():  # the waiter stamps the exit; sampling does not delay it
                cpu.sample(proc.pid)
                waiter.join(SAMPLE_SECONDS)
            seconds = finished[0][1] - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        self.cpu.setdefault(name, []).append(cpu.total)
        ended = launched + seconds
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed ({proc.returncode}): {stderr[-2000:]}")
        if name == "iqa":
            self._check_iqa()
            self.breakdowns.append(self._breakdown(stderr, launched, ended))
        elif int(stdout.split()[-1]) != self.files:
            raise RuntimeError(f"{name} processed {stdout.split()[-1]} files, expected {self.files}")
        return seconds

    def _check_iqa(self) -> None:
        with open(self.out / "audit.csv", encoding="utf-8", newline="") as fh:
            statuses = [row["status"] for row in csv.DictReader(fh)]
        rows, errors = len(statuses), statuses.count("error")
        if rows != self.files or errors or not (self.out / "report.html").is_file():
            raise RuntimeError(f"iqa wrote {rows} rows ({errors} errors) for {self.files} files")

    def _breakdown(self, stderr: str, launched: float, ended: float) -> dict[str, float]:
        stamps = {}
        for line in stderr.splitlines():
            if line.startswith("iqa-timing "):
                _, event, value = line.split()
                stamps[event] = float(value)
        first, done, report = stamps["first-result"], stamps["audit-done"], stamps["report-done"]
        return {"start-up": first - launched, "per-file": done - first, "report": report - done,
                "shutdown": ended - report}


def summary(seconds: dict[str, list[float]], cpu: dict[str, list[float]], files: int) -> None:
    print(f"\n{'contender':<18}{'best s':>8}{'median s':>10}{'images/s':>10}{'CPU s':>8}{'CPU ms/file':>13}")
    for name, values in seconds.items():
        used = statistics.median(cpu[name][-len(values):])
        print(f"{name:<18}{min(values):8.2f}{statistics.median(values):10.2f}{files / min(values):10.1f}"
              f"{used:8.2f}{used / files * 1000:13.1f}")


def breakdown(contenders: Contenders, seconds: list[float]) -> None:
    best = contenders.breakdowns[seconds.index(min(seconds))]
    parts = "  ".join(f"{k} {best[k]:.2f} s" for k in PHASES)
    per_file = best["per-file"] / max(contenders.files - 1, 1) * 1000
    print(f"\niqa breakdown (best round): {parts}  ({per_file:.1f} ms wall per file after the first)")


def ratio(seconds: dict[str, list[float]], contender: str) -> tuple[float, float]:
    """iqa speed / contender speed: best against best, and the median of the per-round ratios."""
    best = min(seconds[contender]) / min(seconds["iqa"])
    return best, statistics.median(c / i for c, i in zip(seconds[contender], seconds["iqa"]))


def ratios(seconds: dict[str, list[float]], goal: dict[str, float]) -> None:
    floors = [n for n in seconds if n.startswith("floor-")]
    floor = min(floors, key=lambda n: min(seconds[n]))
    print(f"\nthe floor is {floor} (the faster decode-only loop)")
    print("ratios (iqa speed / contender speed; > 1: iqa faster): best vs best (median of per-round ratios)")
    for name in floors + [n for n in seconds if n == "cleanvision"]:
        best, median = ratio(seconds, name)
        key = "floor" if name == floor else name
        target = goal.get(key)
        note = "" if target is None else f"  target >= {target}: {'met' if best >= target else 'NOT met'}"
        print(f"  iqa / {name:<17}{best:6.2f}  ({median:.2f}){note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=("vga", "7mp", "24mp"), default="7mp")
    ap.add_argument("--count", type=int, default=None, help="photos to generate (default: 80 7mp, 480 vga, 40 24mp)")
    ap.add_argument("--photos", type=Path, default=None, help="folder of JPEGs (default: generated)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="source photos for the generator")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-cleanvision", action="store_true")
    ap.add_argument("--no-pillow-floor", action="store_true", help="time only the simplejpeg floor")
    args = ap.parse_args()
    count = args.count or DEFAULT_COUNT[args.size]
    folder = args.photos or ensure_photos(args.size, count, args.source)
    files = sum(1 for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    mean = sum(p.stat().st_size for p in folder.rglob("*.jpg")) / max(files, 1)
    print(f"folder {folder}: {files} JPEGs, mean {mean / 1e6:.2f} MB; workers {args.workers}; "
          f"rounds {args.rounds} + 1 warm-up; cores {len(os.sched_getaffinity(0))}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"cpu: {cpu_summary()}", flush=True)
    out = Path(tempfile.mkdtemp(prefix="iqa-bench-out-"))
    try:
        contenders = Contenders(folder, files, args.workers, out)
        names = ["iqa", "floor-simplejpeg"] + ([] if args.no_pillow_floor else ["floor-pillow"])
        if not args.no_cleanvision:
            names.append("cleanvision")

        def line(values: dict[str, float]) -> str:
            cells = "  ".join(f"{n} {v:6.2f} s" for n, v in values.items())
            return f"{cells}  (load {os.getloadavg()[0]:.1f})"

        seconds = interleaved_rounds(names, args.rounds, contenders.run, line)
        contenders.breakdowns = contenders.breakdowns[-args.rounds:]  # drop the warm-up round
        summary(seconds, contenders.cpu, files)
        breakdown(contenders, seconds["iqa"])
        ratios(seconds, targets(args.size, files))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
