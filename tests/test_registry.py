"""The check registry: a new check is one entry (its columns and a function over the image), nothing else."""
from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import PYTHON, REPO_ROOT, save_image

from iqa.auditor.registry import CHECKS, CLASSIFIER, check_columns
from iqa.auditor.results import CSV_COLUMNS, AuditResult

# A process that registers a made-up check before anything reads the registry, audits a folder into a
# CSV, reads it back and prints what it found.
_SCRIPT = """
import sys
import numpy as np
from iqa.auditor import registry

def mean_level(pixels, grey):
    assert grey.shape == pixels.shape[:2] and grey.dtype == np.uint8  # the image's grey, made once for all checks
    return {"mean_level": float(pixels.mean()), "dark": "yes" if pixels.mean() < 128 else "no"}

registry.CHECKS = registry.CHECKS + (registry.Check("level", {"mean_level": float, "dark": str}, mean_level),)
from iqa.auditor.pipeline import AuditConfig, audit
from iqa.auditor.results import CSV_COLUMNS
from iqa.reports.csv_io import read_results
from iqa.reports.csv_writer import write_results

results = list(audit([sys.argv[1]], AuditConfig(workers=1)))
write_results(sys.argv[2], results)
back = read_results(sys.argv[2])
print(CSV_COLUMNS[-3:])
print(sorted((r.path, r.status, round(r.mean_level, 1) if r.ok else None, r.dark) for r in back))
print(back == results)
"""


def expected_mean(path: Path) -> float:
    from iqa.auditor.imaging import open_image

    return round(float(open_image(path).pixels.mean()), 1)


def test_the_classifier_is_the_first_check_and_its_columns_stay_in_place() -> None:
    assert CHECKS[0] is CLASSIFIER and CLASSIFIER.measure is None
    assert not set(CLASSIFIER.columns) & set(check_columns())  # its columns are not measured in the worker
    assert CSV_COLUMNS[3:9] == ("label", "confidence", "p_blurry", "p_original", "p_sharp", "sharpness")
    r = AuditResult(path="x", status="ok", p_blurry=0.7, p_original=0.2, p_sharp=0.1)
    assert r.probs == {"blurry": 0.7, "original": 0.2, "sharp": 0.1} and r.p_original == 0.2
    assert AuditResult(path="x", status="error").p_blurry is None


def test_a_registered_check_adds_a_column_group(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    save_image(root / "a.jpg", 120, 90, seed=1)
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    proc = subprocess.run([PYTHON, "-c", _SCRIPT, str(root), str(tmp_path / "audit.csv")], env=subprocess_env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    columns, rows, round_trip = proc.stdout.strip().splitlines()
    assert columns == "('best_in_group', 'mean_level', 'dark')"  # a new group goes last
    assert rows == f"[('a.jpg', 'ok', {expected_mean(root / 'a.jpg')}, 'no'), ('broken.jpg', 'error', None, None)]"
    assert round_trip == "True"
