"""Culling benchmark: grouping quality on a tree of bursts, and what grouping costs.

1. Builds a burst tree (:mod:`benchmarks.make_bursts`) unless ``--tree`` names one, audits it
   with the ``iqa`` command in a new process and prints the pairwise recall and precision of
   the groups, bursts found whole, and how often ``best_in_group`` is the least shaken frame.
2. Audit time with and without grouping on that tree (``--groups`` / ``--no-groups``, report
   included), interleaved rounds, and the ratio.
3. The grouping step alone at ``--synthetic`` (20,000) files: a synthetic audit CSV rewritten
   with and without :func:`reports.culling.fill_groups` (time per file, peak memory by
   tracemalloc) and its cost relative to the measured audit rate extrapolated to that many files.

    nice python benchmarks/bench_culling.py [--tree DIR] [--rounds 2] [--workers 0] [--synthetic 20000]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.results import AuditResult  # noqa: E402
from benchmarks.common import interleaved_rounds  # noqa: E402
from benchmarks.make_bursts import build  # noqa: E402
from iqa.reports import csv_io, csv_writer  # noqa: E402
from iqa.reports.culling import fill_groups, regroup_csv  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _iqa(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "iqa", *args], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _pairs(groups: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


def quality(tree: Path, out: Path, workers: int) -> float:
    """Audit ``tree`` once with grouping; print the quality numbers; return the audit's seconds."""
    seconds = _iqa(["audit", str(tree / "photos"), "-o", str(out), "--fresh", "--quiet", "--workers", str(workers)])
    truth = json.loads((tree / "truth.json").read_text())
    rows = csv_io.read_results(out / "audit.csv")
    found: dict[int, list[str]] = {}
    for r in rows:
        if r.group is not None:
            found.setdefault(r.group, []).append(r.path)
    true_groups = [[f["path"] for f in b] for b in truth["bursts"]] + truth["duplicates"]
    want, got = _pairs(true_groups), _pairs(list(found.values()))
    recall = len(want & got) / max(len(want), 1)
    precision = len(want & got) / max(len(got), 1)
    sets = {frozenset(g) for g in found.values()}
    whole = sum(frozenset(g) in sets for g in true_groups)
    best = {r.path for r in rows if r.best_in_group == 1}
    picked = sum(min(b, key=lambda f: f["shake"])["path"] in best for b in truth["bursts"])
    print(f"tree: {len(rows)} files, {len(truth['bursts'])} bursts, {len(truth['duplicates'])} re-uploaded pairs, "
          f"{len(truth['unrelated'])} unrelated; audit {seconds:.1f} s")
    print(f"grouping: pairwise recall {recall:.3f}, precision {precision:.3f}; "
          f"groups found whole {whole}/{len(true_groups)}; {len(found)} groups in the CSV")
    bursts = len(truth["bursts"])
    print(f"best frame = least shaken frame in {picked}/{bursts} bursts ({picked / bursts:.1%})")
    return seconds


def audit_ratio(tree: Path, work: Path, rounds: int, workers: int) -> float:
    """Interleaved audits with and without grouping (report included); returns the median ratio."""
    def measure(name: str) -> float:
        flag = "--groups" if name == "groups" else "--no-groups"
        return _iqa(["audit", str(tree / "photos"), "-o", str(work / name), "--fresh", "--quiet",
                     "--workers", str(workers), flag])

    times = interleaved_rounds(["no-groups", "groups"], rounds, measure,
                               lambda v: ", ".join(f"{k} {s:.2f} s" for k, s in v.items()))
    med = {k: float(np.median(v)) for k, v in times.items()}
    ratio = med["groups"] / med["no-groups"]
    print(f"audit with/without grouping (median of {rounds}): {med['groups']:.2f} s / {med['no-groups']:.2f} s"
          f" = {ratio:.3f}x")
    return ratio


def _synthetic_csv(path: Path, n: int, seed: int = 0) -> None:
    """``n`` ok rows: a third in bursts of 4 (near hashes, EXIF 1 s apart), the rest random hashes."""
    rng = np.random.default_rng(seed)
    rows, base = [], 0
    for i in range(n):
        burst, frame = divmod(i, 4)
        if i >= n // 3 or frame == 0:
            base = int(rng.integers(0, 2**63))
        h = base ^ (1 << int(rng.integers(0, 64))) if frame and i < n // 3 else base
        captured = f"2024:06:01 {burst // 3600 % 24:02d}:{burst // 60 % 60:02d}:{frame:02d}" if i < n // 3 else ""
        rows.append(AuditResult(path=f"d{i // 1000}/img_{i:06d}.jpg", status="ok", label="original",
                                p_blurry=float(rng.random()), sharpness=float(rng.random() * 500), root="/photos",
                                phash=f"{h:016x}", captured=captured, camera="Cam", under_exposure=0.1,
                                over_exposure=0.0, patches="10:10:0.5 " * 8))
    csv_writer.write_results(path, rows)


def grouping_cost(n: int, work: Path, files_per_second: float) -> None:
    """Time and peak memory (tracemalloc) of the grouping step on an ``n``-row audit CSV.

    Without grouping a fresh run ends when the last row is written; with grouping it also
    runs :func:`reports.culling.regroup_csv` (a CSV in walk order: two streaming passes) or,
    after a resume, the in-memory sorted rewrite with grouping. Both are measured.
    """
    from iqa.auditor.walk import walk_order_key

    key = walk_order_key(["/photos"])
    src = work / "synthetic.csv"
    _synthetic_csv(src, n)
    result: dict[str, tuple[float, float]] = {}
    steps = {"streamed (fresh run)": lambda p: regroup_csv(p, key),
             "sorted rewrite (resumed run)": lambda p: csv_io.rewrite_sorted(p, key, update=fill_groups),
             "sorted rewrite, no grouping": lambda p: csv_io.rewrite_sorted(p, key)}
    target = work / "target.csv"
    for name, step in steps.items():  # timed without tracemalloc (it slows allocations a lot), then traced
        times = []
        for _ in range(2):
            shutil.copy(src, target)
            start = time.perf_counter()
            step(target)
            times.append(time.perf_counter() - start)
        shutil.copy(src, target)
        tracemalloc.start()
        step(target)
        result[name] = (min(times), tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    audit_seconds = n / files_per_second
    for name, (seconds, peak) in result.items():
        print(f"{n:,} rows, {name}: {seconds:.2f} s = {seconds / n * 1e6:.0f} us per file, peak {peak:.0f} MiB")
    fresh = result["streamed (fresh run)"][0]
    print(f"vs an audit of {n:,} files at the measured {files_per_second:.1f} files/s ({audit_seconds:.0f} s):"
          f" with grouping {(audit_seconds + fresh) / audit_seconds:.4f}x the audit without it (fresh run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=None, help="an existing make_bursts tree")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--synthetic", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iqa-cull-") as tmp:
        work = Path(tmp)
        tree = args.tree
        if tree is None:
            tree = work / "tree"
            build(tree, bursts=40, duplicates=10, unrelated=80, seed=0)
        seconds = quality(tree, work / "quality", args.workers)
        files = sum(1 for _ in csv_io.iter_rows(work / "quality" / "audit.csv"))
        if args.rounds:
            audit_ratio(tree, work, args.rounds, args.workers)
        if args.synthetic:
            grouping_cost(args.synthetic, work, files / seconds)


if __name__ == "__main__":
    main()
