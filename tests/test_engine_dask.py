"""The Dask engine on a loopback LocalCluster: same CSV as the local engine, worker deaths, resume.

One cluster (2 worker processes, one thread each, 127.0.0.1 only) serves the whole module.
It allows no worker death per task (``allowed-failures`` 0), so a batch whose worker dies is
split into one task per file at once: the tests stay fast and still see every fault path.
Worker saturation 1 (as in the engine's own LocalCluster): a worker holds only the task it
runs, so a death is charged to that task alone.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PYTHON, REPO_ROOT, MixedTree, save_image

from iqa.auditor import exit_codes

pytest.importorskip("distributed")

from iqa.auditor.engine_dask import ClusterError, DaskBackend  # noqa: E402
from iqa.auditor.pipeline import AuditConfig  # noqa: E402
from iqa.job import audit_to_folder  # noqa: E402

pytestmark = pytest.mark.dask

CRASHES, HANGS = 13, 21


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0,  # as DaskBackend's own LocalCluster
                          "distributed.scheduler.worker-saturation": 1.0}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             scheduler_port=0, dashboard_address=None, silence_logs=50)
    client = Client(local, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        local.close()


def _backend(client: object, **kw: object) -> DaskBackend:
    return DaskBackend(scheduler=client.scheduler.address, **kw)


def _slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


def _square_or_misbehave(x: int) -> int:
    if x == CRASHES:
        os._exit(1)  # a decoder that takes its worker down, every time
    if x == HANGS:
        threading.Event().wait(10)  # a decoder that hangs (released later so the worker comes back)
    return x * x


def _failed(x: int, reason: str) -> str:
    return f"failed {x}: {reason}"


def test_csv_identical_to_the_local_engine(cluster: object, mixed_tree: MixedTree, tmp_path: Path) -> None:
    local = audit_to_folder([mixed_tree.root], tmp_path / "local", AuditConfig(workers=2), report=False)
    dask_job = audit_to_folder([mixed_tree.root], tmp_path / "dask", AuditConfig(), report=False,
                               backend=_backend(cluster, batch_size=3))
    assert dask_job.summary.files == len(mixed_tree.files)
    assert dask_job.csv_path.read_bytes() == local.csv_path.read_bytes()


def test_a_file_that_crashes_or_hangs_its_worker_fails_alone(cluster: object) -> None:
    results = list(_backend(cluster, timeout=1.0, batch_size=4).map_ordered(_square_or_misbehave, range(30),
                                                                             _failed))
    expected: list[object] = [x * x for x in range(30)]
    expected[CRASHES] = f"failed {CRASHES}: its worker died (crashed or killed) each time it was tried"
    expected[HANGS] = f"failed {HANGS}: no result within 1 s"
    assert results == expected  # in order; the other files of both batches still computed


def test_a_worker_killed_mid_run_loses_nothing(cluster: object) -> None:
    pids = cluster.run(os.getpid)
    results = []
    for result in _backend(cluster, batch_size=4).map_ordered(_slow_square, range(120), _failed):
        results.append(result)
        if len(results) == 10:
            os.kill(next(iter(pids.values())), signal.SIGKILL)
    assert results == [x * x for x in range(120)]  # each exactly once, in order, none a failure
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarted it for the next test


def test_unreachable_scheduler_is_a_cluster_error() -> None:
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        list(DaskBackend(scheduler="tcp://127.0.0.1:9", connect_timeout=1).map_ordered(_slow_square, range(3), _failed))


# ``iqa audit`` killed with SIGKILL by itself right after its 10th CSV row: a kill -9 of the
# client mid-run, at a known point however fast or slow the machine is.
_SELF_KILLING_AUDIT = """
import os, signal, sys
from iqa.reports import csv_writer
real = csv_writer.CsvResultWriter.write
def write_then_die(self, result):
    written = real(self, result)
    if self.written >= 10:
        os.kill(os.getpid(), signal.SIGKILL)
    return written
csv_writer.CsvResultWriter.write = write_then_die
from iqa.cli import main
main(sys.argv[1:], prog_name="iqa")
"""


@pytest.mark.slow
def test_resume_after_kill_9_of_the_client(cluster: object, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    root = tmp_path / "photos"
    for i in range(36):
        (root / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        save_image(root / f"d{i % 3}" / f"p{i:02d}.jpg", 160, 120, seed=i)
    out = tmp_path / "out"
    args = ["audit", str(root), "-o", str(out), "--no-report", "-q", "--engine", "dask",
            "--scheduler", cluster.scheduler.address]
    killed = subprocess.run([PYTHON, "-c", _SELF_KILLING_AUDIT, *args], env=subprocess_env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = subprocess.run([PYTHON, "-m", "iqa", *args], env=subprocess_env, cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    clean = audit_to_folder([root], tmp_path / "clean", AuditConfig(workers=1), report=False)
    assert (out / "audit.csv").read_bytes() == clean.csv_path.read_bytes()  # none lost, none doubled


class _CloseSchedulerAt:
    """A job progress that closes the cluster's scheduler once ``at`` rows are written."""

    def __init__(self, cluster: object, at: int) -> None:
        self.cluster, self.at, self.rows = cluster, at, 0

    def start(self, resumed: int, total: int) -> None:
        pass

    def advance(self, result: object) -> None:
        self.rows += 1
        if self.rows == self.at:
            self.cluster.close()  # the scheduler goes away mid-run


@pytest.mark.slow
def test_losing_the_scheduler_stops_the_run_with_a_valid_resumable_csv(tmp_path: Path) -> None:
    from distributed import LocalCluster

    from iqa.auditor.engine_dask import ClusterLostError
    from iqa.reports.csv_io import read_results

    root = tmp_path / "photos"
    root.mkdir()
    for i in range(40):
        save_image(root / f"p{i:02d}.jpg", 96, 72, seed=i)
    threaded = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                            scheduler_port=0, dashboard_address=None, silence_logs=50)
    out = tmp_path / "out"
    with pytest.raises(ClusterLostError, match="lost the Dask scheduler"):
        audit_to_folder([root], out, AuditConfig(), report=False, progress=_CloseSchedulerAt(threaded, 9),
                        backend=DaskBackend(scheduler=threaded.scheduler_address, batch_size=2))
    kept = read_results(out / "audit.csv")  # parses: no torn row
    assert 9 <= len(kept) < 40
    resumed = audit_to_folder([root], out, AuditConfig(workers=1), report=False)
    clean = audit_to_folder([root], tmp_path / "clean", AuditConfig(workers=1), report=False)
    assert resumed.resumed == len(kept)
    assert resumed.csv_path.read_bytes() == clean.csv_path.read_bytes()


def test_cli_maps_a_lost_scheduler_to_exit_7(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    import iqa.job
    from iqa.auditor.engine_dask import ClusterLostError
    from iqa.cli import main

    seen = {}

    def lose(roots, out_dir, config, **kw):  # what audit_to_folder raises when the scheduler goes away
        seen.update(kw)
        raise ClusterLostError("lost the Dask scheduler tcp://127.0.0.1:8786: FutureCancelledError")

    monkeypatch.setattr(iqa.job, "audit_to_folder", lose)
    result = CliRunner().invoke(main, ["audit", str(tmp_path), "-o", str(tmp_path / "o"), "--engine", "dask",
                                       "--scheduler", "tcp://127.0.0.1:8786", "-q"])
    assert result.exit_code == exit_codes.CLUSTER_LOST == 7
    assert "lost the Dask scheduler tcp://127.0.0.1:8786" in result.stderr
    assert "rerun the same command to resume" in result.stderr
    assert seen["backend"] == DaskBackend(scheduler="tcp://127.0.0.1:8786", workers=0,
                                          timeout=AuditConfig().file_timeout, initializer=seen["backend"].initializer)
    usage = CliRunner().invoke(main, ["audit", str(tmp_path), "-o", str(tmp_path / "o"), "--scheduler", "tcp://x:1"])
    assert usage.exit_code == 2 and "--scheduler needs --engine dask" in usage.stderr
