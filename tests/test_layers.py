"""The import-linter contracts of ``.importlinter`` (layers, and only trainer imports TensorFlow) hold.

They are checked on the layout a wheel installs (built here from setup.cfg's ``package_dir``, e.g.
``iqa/auditor/...``), because the contracts name the installed modules; without a ``package_dir`` the
packages install as they lie in the checkout.
"""
from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON, REPO_ROOT

TOP_LEVEL = ("iqa", "auditor", "dataset", "trainer", "reports", "models")
CODE = ("import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))\n")


def installed_layout(dest: Path) -> Path:
    """Copy the checkout's Python files into the package layout that setup.cfg's ``package_dir`` describes."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg")
    lines = cfg["options"].get("package_dir", "").strip().splitlines()
    mapping = dict(line.split(" = ") for line in lines) or {p: p for p in TOP_LEVEL}
    for package, folder in sorted(mapping.items()):  # parents first: iqa, then iqa.auditor, ...
        shutil.copytree(REPO_ROOT / folder, dest / package.replace(".", "/"), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.tflite", "templates"))
    return dest


def test_import_contracts_are_kept(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    pytest.importorskip("importlinter")
    site = installed_layout(tmp_path / "site")
    env = dict(subprocess_env, PYTHONPATH=str(site))
    proc = subprocess.run([PYTHON, "-c", CODE, str(REPO_ROOT / ".importlinter")], env=env, cwd=site,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


def test_the_contracts_can_fail(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    pytest.importorskip("importlinter")
    site = installed_layout(tmp_path / "site")
    base = site / "iqa" / "auditor" if (site / "iqa" / "auditor").is_dir() else site / "auditor"
    with open(base / "labels.py", "a", encoding="utf-8") as fh:
        fh.write("\nfrom iqa import job  # the base importing the top layer\n")
    env = dict(subprocess_env, PYTHONPATH=str(site))
    proc = subprocess.run([PYTHON, "-c", CODE, str(REPO_ROOT / ".importlinter")], env=env, cwd=site,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "auditor.labels -> iqa.job" in proc.stdout
