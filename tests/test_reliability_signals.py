"""Regression tests of issue 11 for interruptions: SIGTERM like Ctrl-C, kill -9 at random points;
the resumed CSV equals an uninterrupted run's and no process is left behind."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from iqa.auditor import exit_codes
from iqa.reports.csv_io import iter_rows
from conftest import PYTHON, REPO_ROOT, save_image

FILES = 120


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sig") / "photos"
    for i in range(FILES):
        path = root / f"set{i % 3}" / f"img_{i:03d}.{('jpg', 'png')[i % 2]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(path, 160, 120, seed=i)
    return root


def _cmd(root: Path, out: Path) -> list[str]:
    return [PYTHON, "-m", "iqa", "audit", str(root), "-o", str(out), "--workers", "2", "--no-report"]


_REFERENCE: dict[Path, Path] = {}


def reference_bytes(tree: Path) -> bytes:
    """The uninterrupted run's CSV, byte for byte."""
    return (_REFERENCE[tree] / "audit.csv").read_bytes()


@pytest.fixture(scope="module")
def reference(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("ref")
    _REFERENCE[tree] = out
    env = _env()
    proc = subprocess.run(_cmd(tree, out), env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return _rows(out)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _rows(out: Path) -> list[dict[str, str]]:
    return list(iter_rows(out / "audit.csv"))


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _interrupt(root: Path, out: Path, sig: int, after_rows: int) -> tuple[subprocess.CompletedProcess, set[int]]:
    proc = subprocess.Popen(_cmd(root, out), env=_env(), cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    csv = out / "audit.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if csv.exists() and csv.read_bytes().count(b"\r\n") > after_rows:
            break
        time.sleep(0.01)
    workers = _descendants(proc.pid)
    assert proc.poll() is None, "the audit finished before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), workers


def _no_leftovers(workers: set[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "worker processes outlived the audit"


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, exit_codes.TERMINATED),
                                       (signal.SIGINT, exit_codes.INTERRUPTED)])
def test_sigterm_and_sigint_stop_cleanly_and_resume_exactly(tree: Path, reference: list, tmp_path: Path,
                                                            sig: int, code: int) -> None:
    # issue 11 item 8: SIGTERM gave exit 143 with worker BrokenPipeError tracebacks and a leaked semaphore
    result, workers = _interrupt(tree, tmp_path, sig, after_rows=5)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "leaked" not in result.stderr
    assert "rerun the same command to resume" in result.stderr
    _no_leftovers(workers)
    resumed = subprocess.run(_cmd(tree, tmp_path), env=_env(), cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0 and "resuming" in resumed.stderr
    assert _rows(tmp_path) == reference
    assert (tmp_path / "audit.csv").read_bytes() == reference_bytes(tree)


def test_kill_9_at_random_points_resumes_exactly_and_leaves_no_process(tree: Path, reference: list,
                                                                       tmp_path: Path) -> None:
    rng = random.Random(11)
    for _ in range(2):
        done = len(_rows(tmp_path)) if (tmp_path / "audit.csv").exists() else 0
        if done > FILES - 30:
            break
        result, workers = _interrupt(tree, tmp_path, signal.SIGKILL, after_rows=done + rng.randint(1, 20))
        assert result.returncode == -signal.SIGKILL
        _no_leftovers(workers)
    final = subprocess.run(_cmd(tree, tmp_path), env=_env(), cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=300)
    assert final.returncode == 0, final.stderr
    assert _rows(tmp_path) == reference
    assert (tmp_path / "audit.csv").read_bytes() == reference_bytes(tree)
