"""``iqa check``: flag rule, exit codes 0/1/2, output lines, fast start."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PYTHON, REPO_ROOT, FakeClassifier, save_image

from iqa.auditor.check import CheckConfig, CheckReport, judge, run_check
from iqa.cli import main
from iqa.auditor.results import AuditResult


@pytest.fixture
def small_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    save_image(root / "a.jpg", seed=1)
    save_image(root / "b.png", seed=2)
    return root


def _result(label: str, p: tuple[float, float, float]) -> AuditResult:
    return AuditResult(path="x.jpg", status="ok", label=label, confidence=max(p), p_blurry=p[0], p_original=p[1],
                       p_sharp=p[2], root="/r")


def test_judge_by_label_and_by_threshold() -> None:
    blurry = _result("blurry", (0.6, 0.3, 0.1))
    sharp = _result("sharp", (0.1, 0.3, 0.6))
    assert judge(blurry, CheckConfig()).label == "blurry"
    assert judge(sharp, CheckConfig()) is None
    assert judge(sharp, CheckConfig(fail_on=("blurry", "sharp"))).probability == 0.6
    assert judge(blurry, CheckConfig(threshold=0.7)) is None  # the threshold replaces the decided label
    assert judge(sharp, CheckConfig(threshold=0.1)).label == "blurry"
    assert judge(sharp, CheckConfig(fail_on=("blurry", "sharp"), threshold=0.5)).label == "sharp"
    unreadable = AuditResult(path="x.jpg", status="error", error="truncated", root="/r")
    assert judge(unreadable, CheckConfig()).unreadable


def test_config_rejects_unknown_labels() -> None:
    with pytest.raises(ValueError):
        CheckConfig(fail_on=("fuzzy",))


def test_report_return_code() -> None:
    report = CheckReport()
    assert report.return_code == 0
    report.add(judge(AuditResult(path="x", status="error"), CheckConfig()))
    assert (report.checked, report.unreadable, report.return_code) == (1, 1, 1)
    report.allow_unreadable = True
    assert report.return_code == 0
    report.add(judge(_result("blurry", (0.9, 0.05, 0.05)), CheckConfig()))
    assert (report.flagged, report.return_code) == (1, 1)


def test_run_check_with_fake_models(small_tree: Path) -> None:
    seen = []
    report = run_check([small_tree], CheckConfig(), on_finding=seen.append, classifier=FakeClassifier((5, 0, 0)))
    assert (report.checked, report.flagged, report.return_code) == (2, 2, 1)
    assert [f.result.path for f in seen] == ["a.jpg", "b.png"]
    report = run_check([small_tree], CheckConfig(), classifier=FakeClassifier((0, 0, 5)))
    assert (report.flagged, report.return_code) == (0, 0)
    report = run_check([small_tree], CheckConfig(fail_on=("sharp",)), classifier=FakeClassifier((0, 0, 5)))
    assert report.return_code == 1


def _check(*args: str) -> object:
    return CliRunner().invoke(main, ["check", *args])


def test_cli_threshold_forces_outcomes(small_tree: Path) -> None:
    passed = _check(str(small_tree), "--threshold", "1.01")
    assert passed.exit_code == 0, passed.output
    assert passed.stdout == ""
    flagged = _check(str(small_tree / "a.jpg"), str(small_tree / "b.png"), "--threshold", "0",
                     "--fail-on", "blurry,sharp")
    assert flagged.exit_code == 1
    lines = flagged.stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith(")") and "a.jpg: " in lines[0]
    assert "2 files checked, 2 flagged" in flagged.stderr


def test_cli_unreadable(small_tree: Path) -> None:
    (small_tree / "bad\nname.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result = _check(str(small_tree), "--threshold", "1.01")
    assert result.exit_code == 1
    assert result.stdout.count("\n") == 1  # the newline in the name cannot forge a second line
    assert "bad\\nname.jpg: unreadable (" in result.stdout
    allowed = _check(str(small_tree), "--threshold", "1.01", "--allow-unreadable", "--quiet")
    assert allowed.exit_code == 0 and allowed.stderr == ""


@pytest.mark.parametrize("args", [["--fail-on", "fuzzy"], ["--threshold", "-1"], []])
def test_cli_usage_errors_exit_2(small_tree: Path, args: list[str]) -> None:
    paths = [str(small_tree)] if args else []
    assert _check(*paths, *args).exit_code == 2


def test_cli_missing_path_or_model_exit_2(small_tree: Path) -> None:
    missing = _check(str(small_tree / "nope.jpg"))
    assert missing.exit_code == 2
    no_model = _check(str(small_tree), "--model", str(small_tree / "missing.tflite"))
    assert no_model.exit_code == 2
    assert "model not found" in no_model.stderr


def test_check_subprocess_starts_light(small_tree: Path, subprocess_env: dict[str, str]) -> None:
    code = ("import sys\n"
            "from iqa.cli import main\n"
            "try:\n"
            "    main(['check', sys.argv[1], '--threshold', '1.01', '--quiet'])\n"
            "except SystemExit as exc:\n"
            "    heavy = {'pandas', 'matplotlib', 'tensorflow', 'jinja2'} & set(sys.modules)\n"
            "    assert not heavy, heavy\n"
            "    raise\n")
    proc = subprocess.run([PYTHON, "-c", code, str(small_tree)], env=subprocess_env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_pre_commit_hook_matches_every_image_extension() -> None:
    import re

    yaml = pytest.importorskip("yaml")
    from iqa.auditor.imaging import IMAGE_EXTENSIONS

    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "iqa-check")
    assert hook["entry"] == "iqa check" and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert all(files.search(f"dir/x{ext}") and files.search(f"X{ext.upper()}") for ext in IMAGE_EXTENSIONS)
    assert not files.search("notes.txt") and not files.search("photo.jpg.bak")
