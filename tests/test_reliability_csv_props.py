"""Property tests of the audit CSV (issue 11): whatever the names and messages, a CSV we wrote is
provably ours, reads back exactly, and any cut of it (a killed writer) resumes to a prefix of
its rows; a file that is not ours is never changed."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iqa.auditor.results import AuditResult
from iqa.reports import csv_io, csv_writer
from iqa.reports.csv_io import CsvFormatError, owned_length, read_results
from iqa.reports.csv_writer import CsvResultWriter

# hostile text: any printable or control character, CSV and formula metacharacters, raw bytes
_text = st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list(',"\r\n\t=+-@\'')),
                max_size=30)
_name = st.one_of(_text.filter(bool), st.binary(min_size=1, max_size=12).map(os.fsdecode))
_row = st.builds(lambda path, err, ok: AuditResult(path=path, status="ok" if ok else "error",
                                                   error="" if ok else err, label="original" if ok else "",
                                                   p_blurry=0.25 if ok else None, warnings=err, root="/r"),
                 _name, _text, st.booleans())
_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _unique(rows: list[AuditResult]) -> list[AuditResult]:
    return list({r.path: r for r in rows}.values())


@_settings
@given(rows=st.lists(_row, max_size=6), cut=st.floats(0, 1))
def test_our_csv_round_trips_and_any_cut_resumes_to_a_prefix(tmp_path_factory: pytest.TempPathFactory,
                                                             rows: list[AuditResult], cut: float) -> None:
    rows = _unique(rows)
    out = tmp_path_factory.mktemp("p") / "audit.csv"
    csv_writer.write_results(out, rows)
    assert owned_length(out) == out.stat().st_size
    assert read_results(out) == rows
    data = out.read_bytes()
    out.write_bytes(data[: int(cut * len(data))])  # killed at any byte
    with CsvResultWriter(out) as writer:
        kept = len(writer.done)
    assert read_results(out) == rows[:kept]
    assert owned_length(out) == out.stat().st_size


@_settings
@given(data=st.binary(max_size=300), resume=st.booleans())
def test_bytes_that_are_not_our_csv_are_never_changed(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                                      resume: bool) -> None:
    out = tmp_path_factory.mktemp("f") / "audit.csv"
    out.write_bytes(data)
    try:
        with CsvResultWriter(out, resume=resume) as writer:
            writer.write(AuditResult(path="new.jpg", status="error", error="x", root="/r"))
    except CsvFormatError:
        assert out.read_bytes() == data
        return
    # accepted: only an empty file or a cut-off header of ours, which carries no rows
    assert csv_io.HEADER_LINE.startswith(data)
