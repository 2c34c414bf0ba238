"""Installed names: everything lands under ``iqa`` (no generic top-level auditor/dataset/... packages)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import PYTHON, REPO_ROOT

GENERIC = ("auditor", "dataset", "trainer", "reports", "models")


def test_the_packages_import_under_the_iqa_namespace() -> None:
    import iqa.auditor
    import iqa.models
    from iqa.auditor.model import default_model_path

    assert Path(iqa.auditor.__file__).parent.name == "auditor"
    assert default_model_path().is_file()
    assert not set(GENERIC) & set(sys.modules)  # nothing imported under a generic top-level name


@pytest.mark.slow
def test_the_wheel_installs_only_iqa(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")  # the build backend, used without build isolation (no download)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    for folder in ("iqa", *GENERIC):
        shutil.copytree(REPO_ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([PYTHON, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "dist").glob("iqa-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"iqa", wheel.name.split("-py")[0] + ".dist-info"}
    for needed in ("iqa/auditor/__init__.py", "iqa/commands/audit.py", "iqa/models/default.tflite",
                   "iqa/models/default.json", "iqa/reports/templates/audit_report.html.j2", "iqa/trainer/train.py"):
        assert needed in names, needed
    info = {n.split("/")[-1]: n for n in names if ".dist-info/" in n}
    wheel_zip = zipfile.ZipFile(wheel)
    assert wheel_zip.read(info["top_level.txt"]).decode().split() == ["iqa"]
    assert "iqa = iqa.launch:entry" in wheel_zip.read(info["entry_points.txt"]).decode()
