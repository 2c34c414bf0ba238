"""Regression tests of issue 11 for the output side: a user's file is never overwritten, every
output failure is one line and a documented exit code, a full disk leaves a resumable CSV."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from iqa.auditor import exit_codes
from iqa.cli import main
from iqa.auditor.results import CSV_COLUMNS, AuditResult
from iqa.reports import csv_io, csv_writer
from iqa.reports.csv_io import CsvNotOursError, CsvWriteError, owned_length, read_results
from iqa.reports.csv_writer import CsvResultWriter
from conftest import save_image

HEADER = ",".join(CSV_COLUMNS) + "\r\n"


def _ok(name: str) -> AuditResult:
    return AuditResult(path=name, status="ok", label="original", p_blurry=0.1, root="/r")


FOREIGN = {
    "one_line_no_newline": b"my precious notes",
    "unbalanced_quote": b'name,score\n"x,1\ny,2\n',
    "utf16": (HEADER + "a.jpg,ok" + "," * (len(CSV_COLUMNS) - 2) + "\r\n").encode("utf-16"),
    "our_header_then_garbage": (HEADER + "not,a,row\r\n" + "x" * 10 + "\r\n").encode(),
    "spreadsheet": b"path,status\nkeep.jpg,mine\n",
}


@pytest.mark.parametrize("resume", [True, False])
@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_file_that_is_not_ours_is_never_overwritten(tmp_path: Path, kind: str, resume: bool) -> None:
    # issue 11 item 4: these were silently truncated by the default --resume
    out = tmp_path / "audit.csv"
    out.write_bytes(FOREIGN[kind])
    with pytest.raises(csv_io.CsvFormatError):
        CsvResultWriter(out, resume=resume).open()
    assert out.read_bytes() == FOREIGN[kind]


@pytest.mark.parametrize("resume", [True, False])
def test_a_symlinked_csv_is_refused_and_its_target_kept(tmp_path: Path, resume: bool) -> None:
    target = tmp_path / "elsewhere.csv"
    csv_writer.write_results(target, [_ok("a.jpg")])
    before = target.read_bytes()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "audit.csv").symlink_to(target)
    with pytest.raises(CsvNotOursError, match="symbolic link"):
        CsvResultWriter(tmp_path / "out" / "audit.csv", resume=resume).open()
    assert target.read_bytes() == before


def test_our_csv_with_a_torn_last_row_or_header_is_resumed(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    csv_writer.write_results(out, [_ok("a.jpg"), _ok("b.jpg")])
    whole = out.read_bytes()
    out.write_bytes(whole[:-7])  # killed mid-row
    assert owned_length(out) == len(whole) - len(whole.split(b"\r\n")[-2]) - 2
    with CsvResultWriter(out) as w:
        assert w.done == {("/r", "a.jpg")}
    out.write_bytes(HEADER.encode()[:20])  # killed mid-header
    with CsvResultWriter(out) as w:
        assert w.done == set()


class _FullDisk:
    """Wraps the writer's file: after ``room`` bytes every write lands half and fails with ENOSPC."""

    def __init__(self, fh, room: int) -> None:
        self.fh, self.room = fh, room

    def write(self, text: str) -> int:
        if self.room <= 0:
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(text)
        return self.fh.write(text)

    def __getattr__(self, name: str):
        return getattr(self.fh, name)


def test_disk_full_leaves_complete_rows_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    writer = CsvResultWriter(out)
    writer.open()
    writer.write(_ok("a.jpg"))
    writer._fh = _FullDisk(writer._fh, room=0)
    writer._writer = csv_io.csv.writer(writer._fh, lineterminator=csv_io.LINE_END)
    with pytest.raises(CsvWriteError, match="No space left"):
        writer.write(_ok("b.jpg"))
    writer._fh = writer._fh.fh
    writer.close()
    assert owned_length(out) == out.stat().st_size  # no half row left behind
    assert [r.path for r in read_results(out)] == ["a.jpg"]
    with CsvResultWriter(out) as again:
        assert again.write(_ok("b.jpg"))
    assert [r.path for r in read_results(out)] == ["a.jpg", "b.jpg"]


def _audit(*args: str) -> object:
    return CliRunner().invoke(main, ["audit", *args, "--workers", "1", "--quiet"])


def _one_line_error(result: object) -> None:
    assert "Traceback" not in result.output
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) == 1, result.stderr


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    for i in range(2):
        save_image(tmp_path / "photos" / f"p{i}.jpg", seed=i) if (tmp_path / "photos").is_dir() else (
            (tmp_path / "photos").mkdir(), save_image(tmp_path / "photos" / f"p{i}.jpg", seed=i))
    return tmp_path / "photos"


def test_output_side_failures_are_one_line_and_exit_4(photos: Path, tmp_path: Path) -> None:
    # issue 11 item 5: each of these was a traceback with exit 1
    (tmp_path / "file").write_text("x")
    below_file = _audit(str(photos), "-o", str(tmp_path / "file" / "out"))
    dev_null = _audit(str(photos), "-o", "/dev/null")
    (tmp_path / "csvdir" / "audit.csv").mkdir(parents=True)
    csv_dir = _audit(str(photos), "-o", str(tmp_path / "csvdir"))
    (tmp_path / "htmldir" / "report.html").mkdir(parents=True)
    html_dir = CliRunner().invoke(main, ["audit", str(photos), "-o", str(tmp_path / "htmldir"), "--workers", "1",
                                         "--quiet"])
    for result in (below_file, dev_null, csv_dir, html_dir):
        assert result.exit_code == exit_codes.OUTPUT, result.output
        _one_line_error(result)
    assert "complete" in html_dir.stderr and len(read_results(tmp_path / "htmldir" / "audit.csv")) == 2


def test_resume_with_other_settings_is_refused(photos: Path, tmp_path: Path) -> None:
    # issue 11 item 11: resuming with another --max-side silently mixed rows of both settings
    out = tmp_path / "out"
    assert _audit(str(photos), "-o", str(out), "--no-report").exit_code == 0
    settings = json.loads((out / "audit.json").read_text())
    assert settings["max_side"] > 0 and len(settings["model"]["sha256"]) == 64
    before = (out / "audit.csv").read_bytes()
    other = _audit(str(photos), "-o", str(out), "--no-report", "--max-side", "600")
    assert other.exit_code == exit_codes.NOT_OURS and "max_side" in other.stderr
    _one_line_error(other)
    assert (out / "audit.csv").read_bytes() == before
    assert _audit(str(photos), "-o", str(out), "--no-report", "--max-side", "600", "--fresh").exit_code == 0
    (out / "audit.json").unlink()  # a CSV from before the sidecar: resumed as it is
    assert _audit(str(photos), "-o", str(out), "--no-report").exit_code == 0


def test_max_side_below_the_patch_size_is_refused(photos: Path, tmp_path: Path) -> None:
    result = _audit(str(photos), "-o", str(tmp_path / "out"), "--max-side", "16")
    assert result.exit_code == exit_codes.USAGE and "smaller than the model" in result.stderr
    assert not (tmp_path / "out" / "audit.csv").exists()


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_disk_full_gives_exit_4_and_a_resumable_csv(tmp_path: Path, tiny_tmpfs: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(60):  # long names: about 300 bytes per row
        save_image(root / f"{uuid.UUID(int=i).hex * 4}_{i:03d}.jpg", 24, 24, seed=i)
    (tiny_tmpfs / "filler").write_bytes(bytes(52 * 1024))  # about 8 KB left: the disk fills on the way
    result = _audit(str(root), "-o", str(tiny_tmpfs), "--no-report")
    rows = read_results(tiny_tmpfs / "audit.csv")
    assert result.exit_code == exit_codes.OUTPUT and "No space left" in result.stderr, result.output
    assert 0 < len(rows) < 60 and owned_length(tiny_tmpfs / "audit.csv") == (tiny_tmpfs / "audit.csv").stat().st_size
    _one_line_error(result)


def test_our_csv_saved_with_lf_line_ends_is_still_ours(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    csv_writer.write_results(out, [_ok("a.jpg"), _ok("b.jpg")])
    out.write_bytes(out.read_bytes().replace(b"\r\n", b"\n"))  # a text editor's "save"
    with CsvResultWriter(out) as w:
        assert w.done == {("/r", "a.jpg"), ("/r", "b.jpg")}
        assert w.write(_ok("c.jpg"))
    assert [r.path for r in read_results(out)] == ["a.jpg", "b.jpg", "c.jpg"]
