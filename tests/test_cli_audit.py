"""``iqa audit`` and ``iqa demo`` end to end, in-process (CliRunner) and as a real subprocess."""
from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PYTHON, REPO_ROOT, MixedTree, save_image

from iqa.cli import main
from iqa.auditor.results import CSV_COLUMNS
from iqa.reports.csv_io import read_results


def _raw_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def audited(mixed_tree: MixedTree, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("audit-out")
    result = CliRunner().invoke(main, ["audit", str(mixed_tree.root), "-o", str(out), "--workers", "1"])
    return out, result


def test_audit_exits_0_with_one_row_per_file(mixed_tree: MixedTree, audited: tuple[Path, object]) -> None:
    out, result = audited
    assert result.exit_code == 0, result.output
    rows = read_results(out / "audit.csv")
    paths = [r.path for r in rows]
    assert len(paths) == len(set(paths))
    assert set(paths) == mixed_tree.files
    assert {r.path for r in rows if not r.ok} == set(mixed_tree.broken)
    with open(out / "audit.csv", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == CSV_COLUMNS


def test_audit_csv_cells_are_spreadsheet_safe(audited: tuple[Path, object]) -> None:
    out, _ = audited
    raw = {row["path"] for row in _raw_rows(out / "audit.csv")}
    assert "'hostile/=HYPERLINK(\"x\").jpg" not in raw  # the directory prefix already makes it inert
    assert 'hostile/=HYPERLINK("x").jpg' in raw
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in _raw_rows(out / "audit.csv")
               for cell in row.values())


def test_audit_report_escapes_names(audited: tuple[Path, object]) -> None:
    out, result = audited
    html = (out / "report.html").read_text(encoding="utf-8", errors="replace")
    assert "<img src=x onerror" not in html
    assert result.stdout == ""  # data goes to files; the summary goes to stderr
    assert "files/s" in result.stderr and "unreadable" in result.stderr and "report:" in result.stderr


def test_audit_rerun_resumes_without_duplicates(mixed_tree: MixedTree, audited: tuple[Path, object]) -> None:
    out, _ = audited
    before = (out / "audit.csv").read_bytes()
    again = CliRunner().invoke(main, ["audit", str(mixed_tree.root), "-o", str(out), "--workers", "1", "--quiet",
                                      "--no-report"])
    assert again.exit_code == 0, again.output
    assert again.stderr == ""
    assert (out / "audit.csv").read_bytes() == before


def test_resume_with_new_files_keeps_walk_order(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    save_image(root / "a.jpg", seed=1)
    save_image(root / "c.jpg", seed=2)
    args = ["audit", str(root), "-o", str(tmp_path / "out"), "--workers", "1", "--quiet", "--no-report"]
    assert CliRunner().invoke(main, args).exit_code == 0
    save_image(root / "b.jpg", seed=3)
    (root / "sub").mkdir()
    save_image(root / "sub" / "d.png", seed=4)
    assert CliRunner().invoke(main, args).exit_code == 0
    assert [r.path for r in read_results(tmp_path / "out" / "audit.csv")] == ["a.jpg", "b.jpg", "c.jpg", "sub/d.png"]


def test_audit_subprocess(mixed_tree: MixedTree, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    proc = subprocess.run([PYTHON, "-m", "iqa", "audit", str(mixed_tree.root), "-o", str(tmp_path),
                           "--workers", "2", "--fresh"], env=subprocess_env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "files/s" in proc.stderr
    assert {r.path for r in read_results(tmp_path / "audit.csv")} == mixed_tree.files
    assert (tmp_path / "report.html").is_file()


def test_audit_usage_errors_exit_2(mixed_tree: MixedTree, tmp_path: Path) -> None:
    runner = CliRunner()
    no_root = runner.invoke(main, ["audit", str(tmp_path / "nope"), "-o", str(tmp_path / "out")])
    assert no_root.exit_code == 2
    no_model = runner.invoke(main, ["audit", str(mixed_tree.root), "-o", str(tmp_path / "out"),
                                    "--model", str(tmp_path / "m.tflite")])
    assert no_model.exit_code == 2 and "model not found" in no_model.stderr
    assert not (tmp_path / "out" / "audit.csv").exists()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "audit.csv").write_text("a,b\n1,2\n")
    foreign = runner.invoke(main, ["audit", str(mixed_tree.root / "orient"), "-o", str(tmp_path / "foreign")])
    # issue 11: a file that is not provably an audit CSV is refused (exit 5) and kept, even with --fresh
    assert foreign.exit_code == 5 and "not an audit CSV" in foreign.stderr
    assert (tmp_path / "foreign" / "audit.csv").read_text() == "a,b\n1,2\n"


def test_demo_builds_and_audits(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    rows = read_results(tmp_path / "audit.csv")
    names = {r.path for r in rows}
    assert "grace_hopper.jpg" in names and "grace_hopper_defocus.jpg" in names
    assert [r.path for r in rows if not r.ok] == ["broken_truncated.jpg"]
    assert str(tmp_path / "report.html") in result.stdout
    assert os.path.isfile(tmp_path / "report.html")


def test_training_commands_are_registered() -> None:
    from iqa.commands.training import TRAINING_COMMANDS

    assert all(main.commands.get(cmd.name) is cmd for cmd in TRAINING_COMMANDS)
    assert {"audit", "check", "demo"} <= set(main.commands)


def test_minimal_report_escapes_everything(tmp_path: Path) -> None:
    from iqa.auditor.results import AuditResult, AuditSummary
    from iqa.reports.minimal import write_minimal_report

    rows = [AuditResult(path="<script>alert(1)</script>" + os.fsdecode(b"\xff") + ".jpg", status="error",
                        error="<b>bad</b>", root="/r&d")]
    summary = AuditSummary(files=1, errors=1, counts={"blurry": 0}, seconds=1.0, model_name="<m>",
                           model_version="1")
    html = write_minimal_report(iter(rows), tmp_path / "r.html", summary).read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>" not in html and "<m>" not in html
    assert "&lt;script&gt;" in html and "/r&amp;d" in html


def test_report_failure_falls_back_to_the_minimal_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         mixed_tree: MixedTree) -> None:
    html_module = pytest.importorskip("iqa.reports.html")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(html_module.AuditReportBuilder, "write", broken)
    result = CliRunner().invoke(main, ["audit", str(mixed_tree.root / "orient"), "-o", str(tmp_path),
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "template exploded" in result.stderr
    assert "o6.jpg" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_entry_exits_with_the_command_status_and_flushes(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """``python -m iqa`` runs ``iqa.cli:entry`` (the console script): os._exit after flushing."""
    ok = subprocess.run([PYTHON, "-m", "iqa", "--version"], env=subprocess_env, cwd=REPO_ROOT, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and "iqa" in ok.stdout
    bad = subprocess.run([PYTHON, "-m", "iqa", "audit", str(tmp_path / "missing"), "-o", str(tmp_path / "o")],
                         env=subprocess_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing" in bad.stderr


@pytest.mark.parametrize("args, expected", [
    (["audit", "photos", "-o", "out"], True),
    (["audit", "photos", "-o", "out", "--workers", "2"], True),
    (["audit", "photos", "-o", "out", "--workers", "1"], False),
    (["audit", "photos", "-o", "out", "--workers=1"], False),
    (["audit", "photos", "-o", "out", "--engine", "dask"], False),
    (["audit", "--help"], False),
    (["check", "photo.jpg"], False),
    ([], False),
])
def test_fork_server_starts_before_option_parsing_only_for_a_local_pool(args, expected):
    from iqa.launch import will_start_local_workers

    assert will_start_local_workers(args) is expected


def test_the_console_script_module_imports_no_third_party_library(subprocess_env):
    # iqa.launch runs before anything else so the fork server starts at once: it must stay light
    code = ("import sys, iqa.launch\n"
            "print(sorted(m for m in ('click', 'numpy', 'cv2', 'PIL', 'jinja2') if m in sys.modules))")
    proc = subprocess.run([PYTHON, "-c", code], env=subprocess_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
