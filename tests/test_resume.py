"""Kill -9 in the middle of ``iqa audit``, rerun: the CSV ends up identical to a clean run."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import PYTHON, REPO_ROOT
from PIL import Image

from iqa.reports.csv_io import iter_rows, read_results

N_FILES = 60


def _make_tree(root: Path) -> Path:
    """60 JPEGs large enough (1000 x 750) that a run takes a second or more."""
    y, x = np.mgrid[0:750, 0:1000].astype(np.float32)
    grey = (128 + 60 * np.sin(x / 7) * np.cos(y / 11) + ((x // 40 + y // 40) % 2) * 50).clip(0, 255)
    base = np.stack([grey, np.roll(grey, 5, 1), 255 - grey], 2).astype(np.uint8)
    for i in range(N_FILES):
        folder = root / f"day{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        img = np.roll(base, 13 * i, axis=1)
        if i % 4 == 0:
            img = np.ascontiguousarray(img[:, ::-1])
        Image.fromarray(img).save(folder / f"IMG_{i:04d}.jpg", quality=80)
    return root


def _audit_cmd(root: Path, out: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "iqa", "audit", str(root), "-o", str(out), "--workers", "1", "--no-report",
            *extra]


# ``iqa audit`` whose analysis of one file (argv[1]) never returns: the run cannot finish before
# the test kills it, however fast the machine (in-process, so --workers 1).
_BLOCKING_AUDIT = """
import sys, threading
import iqa.auditor.pipeline as pipeline
real = pipeline.analyse_file
def analyse_or_block(task):
    if task.path.endswith(sys.argv[1]):
        threading.Event().wait()
    return real(task)
pipeline.analyse_file = analyse_or_block
from iqa.cli import main
main(sys.argv[2:], prog_name="iqa")
"""


def _blocking_audit_cmd(root: Path, out: Path, block_at: str) -> list[str]:
    return [PYTHON, "-c", _BLOCKING_AUDIT, block_at, *_audit_cmd(root, out)[3:]]


def _count_rows(csv_path: Path) -> int:
    try:
        return sum(1 for _ in iter_rows(csv_path))
    except FileNotFoundError:
        return 0


def _start_and_kill(cmd: list[str], csv_path: Path, env: dict[str, str], min_rows: int = 5,
                    sig: int = signal.SIGKILL) -> tuple[int, str]:
    proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _count_rows(csv_path) < min_rows and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)  # the whole session: like Ctrl-C / kill on a terminal
        _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


def _key_rows(csv_path: Path) -> list[tuple]:
    return [(r.root, r.path, r.status, r.label, r.p_blurry, r.p_original, r.p_sharp, r.sharpness)
            for r in read_results(csv_path)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_tree(tmp_path_factory.mktemp("resume") / "photos")


@pytest.mark.slow
def test_kill_9_then_resume_equals_clean_run(photos: Path, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    root = photos
    out = tmp_path / "resumed"
    csv_path = out / "audit.csv"

    # day0/IMG_0030.jpg (11th in walk order) blocks: the 8 rows of the first group are written, then it waits
    code, _ = _start_and_kill(_blocking_audit_cmd(root, out, "IMG_0030.jpg"), csv_path, subprocess_env)
    assert code == -signal.SIGKILL
    done = _count_rows(csv_path)
    assert 5 <= done < N_FILES
    with open(csv_path, "ab") as fh:  # as if the kill had torn the row being written
        fh.write(b"day0/IMG_9999.jpg,ok,,blu")

    rerun = subprocess.run(_audit_cmd(root, out), env=subprocess_env, cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming: {done} files" in rerun.stderr

    clean = subprocess.run(_audit_cmd(root, tmp_path / "clean", "--fresh"), env=subprocess_env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr

    resumed_rows = _key_rows(csv_path)
    clean_rows = _key_rows(tmp_path / "clean" / "audit.csv")
    assert len(resumed_rows) == N_FILES
    assert len({(r[0], r[1]) for r in resumed_rows}) == N_FILES  # none doubled
    assert resumed_rows == clean_rows  # none lost, same verdicts, same (walk) order
    assert (tmp_path / "clean" / "audit.csv").read_bytes() == csv_path.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_leaves_a_valid_csv_and_says_how_to_resume(photos: Path, tmp_path: Path,
                                                         subprocess_env: dict[str, str], sig: int) -> None:
    csv_path = tmp_path / "out" / "audit.csv"
    cmd = _audit_cmd(photos, tmp_path / "out")
    cmd[cmd.index("--workers") + 1] = "2"  # the pool must shut down too
    code, stderr = _start_and_kill(cmd, csv_path, subprocess_env, sig=sig)
    assert code == 130, stderr
    assert "rerun the same command to resume" in stderr
    assert "Traceback" not in stderr
    rows = read_results(csv_path)
    assert 0 < len(rows) < N_FILES
    assert csv_path.read_bytes().endswith(b"\r\n")  # no torn row: Ctrl-C closes the CSV cleanly
