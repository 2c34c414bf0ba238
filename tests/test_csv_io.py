"""The CSV contract: formula neutralisation, crash safety, resume, round trip."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from iqa.auditor.results import CSV_COLUMNS, AuditResult
from iqa.reports import csv_io, csv_writer
from iqa.reports.csv_io import CsvFormatError, CsvLockedError, neutralise, read_done, read_results, restore
from iqa.reports.csv_writer import CsvResultWriter

HOSTILE = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=already", "'plain", "a,b\"c", "line\nbreak",
           "<b>x</b>", "café ☕", os.fsdecode(b"raw-\xff.jpg"), "normal.jpg", ""]


def _ok(path: str, root: str = "/photos", **kw: object) -> AuditResult:
    base = dict(status="ok", label="original", confidence=0.8, p_blurry=0.1, p_original=0.8, p_sharp=0.1,
                sharpness=123.456, width=640, height=480, format="JPEG", bytes=1000, root=root,
                analysis_width=640, analysis_height=480, patch_size=64, patches="0:0:0.100 64:0:0.200")
    base.update(kw)
    return AuditResult(path=path, **base)


def _raw_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_roundtrip(text: str) -> None:
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(cell) == text


def test_text_cells_neutralised_numbers_stay_numeric(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    with CsvResultWriter(out, resume=False) as w:
        w.write(_ok("=HYPERLINK(\"x\").jpg", camera="@evil", sharpness=-1.5, exposure_time="-1/3"))
    header, row = _raw_rows(out)
    assert tuple(header) == CSV_COLUMNS
    cells = dict(zip(header, row))
    assert cells["path"] == "'=HYPERLINK(\"x\").jpg"
    assert cells["camera"] == "'@evil"
    assert cells["exposure_time"] == "'-1/3"
    assert cells["sharpness"] == "-1.5"  # a negative number is a number, not a formula
    assert cells["width"] == "640" and cells["confidence"] == "0.8"


def test_roundtrip_of_hostile_results(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    results = [_ok(name or "empty", root=f"/r/{name}") for name in HOSTILE]
    results.append(AuditResult(path="broken.jpg", status="error", error="=cannot decode", root="/r", bytes=0))
    assert csv_writer.write_results(out, results) == len(results)
    assert read_results(out) == results
    assert read_done(out) == {(r.root, r.path) for r in results}


def test_torn_last_line_is_cut_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    csv_writer.write_results(out, [_ok("a.jpg"), _ok("b.jpg")])
    with open(out, "ab") as fh:
        fh.write(b"c.jpg,ok,,orig")  # killed in the middle of a row
    assert [r.path for r in read_results(out)] == ["a.jpg", "b.jpg"]
    with CsvResultWriter(out, resume=True) as w:
        assert w.done == {("/photos", "a.jpg"), ("/photos", "b.jpg")}
        assert w.write(_ok("c.jpg"))
    assert [r.path for r in read_results(out)] == ["a.jpg", "b.jpg", "c.jpg"]
    assert len(_raw_rows(out)) == 4


def test_torn_row_inside_a_quoted_newline(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    csv_writer.write_results(out, [_ok("a.jpg"), _ok("line\nbreak.jpg")])
    full = out.read_bytes()
    out.write_bytes(full[: full.index(b"break.jpg") + 2])  # ends right after the embedded newline + 2 bytes
    assert [r.path for r in read_results(out)] == ["a.jpg"]
    out.write_bytes(full[: full.index(b"\nbreak.jpg") + 1])  # torn exactly after the embedded newline
    with CsvResultWriter(out, resume=True) as w:
        w.write(_ok("line\nbreak.jpg"))
    assert out.read_bytes() == full


def test_resume_never_doubles_a_row(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    with CsvResultWriter(out, resume=True) as w:
        assert w.write(_ok("a.jpg"))
        assert not w.write(_ok("a.jpg", label="blurry"))
    with CsvResultWriter(out, resume=True) as w:
        assert not w.write(_ok("a.jpg"))
        assert w.write(_ok("a.jpg", root="/other"))
    assert len(read_results(out)) == 2
    assert len(_raw_rows(out)) == 3


def test_fresh_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    csv_writer.write_results(out, [_ok("a.jpg"), _ok("b.jpg")])
    with CsvResultWriter(out, resume=False) as w:
        w.write(_ok("c.jpg"))
    assert [r.path for r in read_results(out)] == ["c.jpg"]


def test_resume_refuses_a_foreign_csv(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    out.write_text("name,score\nx,1\n")
    with pytest.raises(CsvFormatError):
        CsvResultWriter(out, resume=True).open()
    assert out.read_text() == "name,score\nx,1\n"


def test_empty_or_header_only_files(tmp_path: Path) -> None:
    assert read_done(tmp_path / "missing.csv") == set()
    out = tmp_path / "a.csv"
    out.write_bytes(b"")
    with CsvResultWriter(out, resume=True) as w:
        w.write(_ok("a.jpg"))
    assert [r.path for r in read_results(out)] == ["a.jpg"]


def test_rewrite_sorted_is_sorted_unique_and_atomic(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    csv_writer.write_results(out, [_ok("b.jpg"), _ok("a/z.jpg"), _ok("a.jpg")])
    key = lambda root, path: tuple(path.split("/"))  # noqa: E731
    assert not csv_io.is_sorted(out, key)
    assert csv_io.rewrite_sorted(out, key) == 3
    assert [r.path for r in read_results(out)] == ["a/z.jpg", "a.jpg", "b.jpg"]
    assert csv_io.is_sorted(out, key)
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]  # no temporary file left behind


def test_a_second_writer_is_refused_while_the_first_is_open(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    with CsvResultWriter(out, resume=True) as first:
        first.write(_ok("a.jpg"))
        with pytest.raises(CsvLockedError):
            CsvResultWriter(out, resume=False).open()
        first.write(_ok("b.jpg"))
    assert [r.path for r in read_results(out)] == ["a.jpg", "b.jpg"]  # the refused writer truncated nothing
