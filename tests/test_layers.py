"""The import-linter contracts of ``.importlinter`` (layers, and only trainer imports TensorFlow) hold."""
from __future__ import annotations

import subprocess

import pytest
from conftest import PYTHON, REPO_ROOT

CODE = ("import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))\n")


def test_import_contracts_are_kept(subprocess_env: dict[str, str]) -> None:
    pytest.importorskip("importlinter")
    proc = subprocess.run([PYTHON, "-c", CODE, str(REPO_ROOT / ".importlinter")], env=subprocess_env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout
