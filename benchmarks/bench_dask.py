"""The Dask engine's overhead: ``iqa audit --engine dask`` vs the local engine, scaling, per-task cost.

usage: python benchmarks/bench_dask.py [--photos DIR] [--count N] [--rounds 3] [--scaling 1,2,4]
                                       [--scaling-count 100] [--scaling-rounds 1] [--tasks 400]
                                       [--source DIR]

1. Throughput as the user runs it: ``iqa audit PHOTOS -o OUT --fresh -q`` in a new process
   (report included), local engine (``--workers 0``: every core) against ``--engine dask``
   (a LocalCluster of one worker process per core, started and stopped by the command), in
   interleaved rounds after one untimed warm-up round; images/s per round, the ratio
   dask/local of the medians (target >= 0.85).
2. Fixed cost: one file, ``--no-report``, local vs dask (interleaved): the seconds the
   LocalCluster's start and stop add to every run, whatever its size.
3. Scaling: ``iqa audit --engine dask --workers W --no-report`` for each W of ``--scaling``
   on the same cores and the first ``--scaling-count`` photos, interleaved rounds;
   throughput and the ratio to the first W.
4. Per-task overhead: on one LocalCluster (2 workers) started here, ``--tasks`` tasks of
   no-op items through :class:`auditor.engine_dask.DaskBackend`, one item per task and the
   default batch size; milliseconds of wall time per task and per item, the fixed cost of a
   run (connecting, a run of 2 tasks) subtracted.

Without --photos, ``--count`` 7 MP JPEGs are built once by benchmarks/make_photos.py.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import interleaved_rounds  # noqa: E402
from make_photos import DEFAULT_SOURCE, ensure_photos, mean_file_size  # noqa: E402

TARGET_VS_LOCAL = 0.85


def iqa(*args: str) -> list[str]:
    """``iqa`` of this checkout in a new process (PYTHONPATH below), not whichever is installed."""
    return [sys.executable, "-m", "iqa", *args]


def run_seconds(cmd: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def throughput(photos: Path, files: int, rounds: int, scratch: Path) -> float:
    commands = {
        "local": iqa("audit", str(photos), "-o", str(scratch / "local"), "--fresh", "-q"),
        "dask": iqa("audit", str(photos), "-o", str(scratch / "dask"), "--fresh", "-q", "--engine", "dask"),
    }
    values = interleaved_rounds(list(commands), rounds, lambda name: files / run_seconds(commands[name]),
                                lambda v: "  ".join(f"{k} {x:.2f} img/s" for k, x in v.items()))
    if (scratch / "local/audit.csv").read_bytes() != (scratch / "dask/audit.csv").read_bytes():
        raise SystemExit("the two engines wrote different CSVs")
    local, dask = statistics.median(values["local"]), statistics.median(values["dask"])
    print(f"median: local {local:.2f} img/s, dask {dask:.2f} img/s; the CSVs are identical")
    return dask / local


def subset(photos: Path, count: int, scratch: Path) -> Path:
    """A folder of hard links (symbolic where that fails) to the first ``count`` photos."""
    folder = scratch / f"subset-{count}"
    folder.mkdir()
    for src in sorted(photos.glob("*.jpg"))[:count]:
        try:
            os.link(src, folder / src.name)
        except OSError:
            (folder / src.name).symlink_to(src)
    return folder


def fixed_cost(photos: Path, rounds: int, scratch: Path) -> None:
    """Seconds of a run of one file, local vs dask: start-up and shutdown of the engine."""
    one = subset(photos, 1, scratch)
    commands = {e: iqa("audit", str(one), "-o", str(scratch / f"one-{e}"), "--fresh", "-q", "--no-report",
                       "--engine", e) for e in ("local", "dask")}
    values = interleaved_rounds(list(commands), rounds, lambda name: run_seconds(commands[name]),
                                lambda v: "  ".join(f"{k} {x:.2f} s" for k, x in v.items()))
    local, dask = statistics.median(values["local"]), statistics.median(values["dask"])
    print(f"one file: local {local:.2f} s, dask {dask:.2f} s: the dask engine's fixed cost is {dask - local:.2f} s "
          f"per run", flush=True)


def scaling(photos: Path, count: int, workers: list[int], rounds: int, scratch: Path) -> None:
    folder = subset(photos, count, scratch)
    commands = {w: iqa("audit", str(folder), "-o", str(scratch / f"w{w}"), "--fresh", "-q", "--no-report",
                       "--engine", "dask", "--workers", str(w)) for w in workers}
    values = interleaved_rounds(list(commands), rounds, lambda w: count / run_seconds(commands[w]),
                                lambda v: "  ".join(f"{k} workers {x:.2f} img/s" for k, x in v.items()))
    base = statistics.median(values[workers[0]])
    for w in workers:
        rate = statistics.median(values[w])
        print(f"dask, {w} worker process(es) on {os.cpu_count()} cores: {rate:.2f} img/s "
              f"= {rate / base:.2f}x of {workers[0]}", flush=True)


def _noop(x: int) -> int:
    return x


def _failed(x: int, reason: str) -> int:
    return -1


def wall_ms(backend: object, items: int) -> float:
    start = time.perf_counter()
    if list(backend.map_ordered(_noop, range(items), _failed)) != list(range(items)):
        raise SystemExit("the dask engine lost or reordered items")
    return (time.perf_counter() - start) * 1000


def per_task_overhead(tasks: int) -> None:
    import dask
    from distributed import Client, LocalCluster

    from iqa.auditor.engine_dask import BATCH_SIZE, DaskBackend

    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                               silence_logs=50)
    client = Client(cluster, set_as_default=False)
    try:
        address = cluster.scheduler.address
        for batch in (1, BATCH_SIZE):
            backend = DaskBackend(scheduler=address, batch_size=batch)
            few = wall_ms(backend, 2 * batch)  # connecting and the first round trips: paid once per run
            many = wall_ms(backend, tasks * batch)
            per_task = (many - few) / (tasks - 2)
            print(f"no-op items, {batch} per task: {per_task:.2f} ms per task, {per_task / batch:.2f} ms per item "
                  f"(wall, 2 workers; the fixed cost of a run, {few:.0f} ms for 2 tasks, left out)", flush=True)
    finally:
        client.close()
        cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scaling", default="1,2,4")
    ap.add_argument("--scaling-count", type=int, default=100, help="photos of the scaling runs")
    ap.add_argument("--scaling-rounds", type=int, default=1)
    ap.add_argument("--tasks", type=int, default=400)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = ap.parse_args()
    photos = args.photos or ensure_photos("7mp", args.count, args.source)
    files, mean = mean_file_size(photos)
    print(f"{files} JPEGs in {photos}, {mean / 1e6:.1f} MB each on average; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="iqa-bench-dask-"))
    try:
        ratio = throughput(photos, files, args.rounds, scratch)
        print(f"dask / local = {ratio:.2f}x (target >= {TARGET_VS_LOCAL})", flush=True)
        fixed_cost(photos, args.rounds, scratch)
        scaling(photos, min(args.scaling_count, files), [int(w) for w in args.scaling.split(",")],
                args.scaling_rounds, scratch)
        per_task_overhead(args.tasks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
