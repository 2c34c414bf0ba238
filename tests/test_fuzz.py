"""CI-sized fuzz run (issue 11): a few hundred hostile inputs through ``iqa audit`` in a new process,
while some files change under it. Exit 0, no traceback, exactly one row per regular file, and no
damaged file reported ok (damaged by construction, or by an independent full Pillow decode)."""
from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from iqa.reports.csv_io import read_results
from conftest import PYTHON, REPO_ROOT
import fuzz_inputs


@pytest.fixture(scope="module")
def fuzz_tree(tmp_path_factory: pytest.TempPathFactory) -> fuzz_inputs.Manifest:
    man = fuzz_inputs.build(tmp_path_factory.mktemp("fuzz") / "tree", n_files=300, seed=11)
    yield man
    man.close()


def _audit(man: fuzz_inputs.Manifest, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    mutator = fuzz_inputs.Mutator(man, seed=3)
    mutator.start()
    try:
        return subprocess.run([PYTHON, "-m", "iqa", "audit", str(man.root), "-o", str(out), *extra],
                              env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    finally:
        mutator.stop.set()
        mutator.join()


def test_fuzz_audit_keeps_every_promise(fuzz_tree: fuzz_inputs.Manifest, tmp_path: Path,
                                        subprocess_env: dict[str, str]) -> None:
    proc = _audit(fuzz_tree, tmp_path, subprocess_env, "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr[-3000:]
    rows = read_results(tmp_path / "audit.csv")
    paths = Counter(r.path for r in rows)
    assert not [p for p, n in paths.items() if n > 1], "a file got two rows"
    seen = set(paths)
    assert fuzz_tree.rows - seen == set(), "regular files without a row"
    assert seen - fuzz_tree.rows - fuzz_tree.volatile == set(), "rows for entries that are no regular image file"
    wrong_ok = [r.path for r in rows if r.ok and r.path not in fuzz_tree.volatile
                and (r.path in fuzz_tree.damaged or not fuzz_inputs.pillow_decodes(os.path.join(r.root, r.path)))]
    assert wrong_ok == [], "damaged files reported ok"
    assert any(not r.ok for r in rows) and any(r.ok for r in rows)
    assert (tmp_path / "report.html").is_file()


def test_fuzz_check_is_flagged_not_crashed(fuzz_tree: fuzz_inputs.Manifest, subprocess_env: dict[str, str]) -> None:
    proc = subprocess.run([PYTHON, "-m", "iqa", "check", str(fuzz_tree.root), "--quiet"], env=subprocess_env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]  # unreadable files fail the gate; a crash would be 70
    assert "Traceback" not in proc.stderr
    assert all(line.count(": ") >= 1 and "\n" not in line for line in proc.stdout.splitlines())
