"""XMP sidecars: the verdicts photo managers read, and files that are never touched."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner
from conftest import save_image

from iqa.cli import main
from iqa.auditor.results import AuditResult
from iqa.reports.xmp import MARKER, verdict, write_sidecars

XMP = "{http://ns.adobe.com/xap/1.0/}"
IQA = "{urn:x-iqa:culling:1}"


def _ok(root: Path, path: str, **kw: object) -> AuditResult:
    return AuditResult(path=path, status="ok", root=str(root), label=kw.pop("label", "original"), **kw)


def _description(path: Path) -> dict[str, str]:
    return next(ET.parse(path).getroot().iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")).attrib


def test_verdicts() -> None:
    root = Path("/p")
    assert verdict(_ok(root, "a.jpg", label="blurry")) == (-1, "Red", "blurry")
    assert verdict(_ok(root, "b.jpg", group=2, group_kind="burst", best_in_group=1)) == (None, "Green",
                                                                                        "best of burst 2")
    assert verdict(_ok(root, "c.jpg", label="sharp", exposure="over"))[1:] == ("Yellow",
                                                                                "over-sharpened, over-exposed")
    assert verdict(_ok(root, "d.jpg")) is None
    assert verdict(AuditResult(path="e.jpg", status="error")) is None


def test_sidecars_in_the_output_folder_escape_what_comes_from_the_csv(tmp_path: Path) -> None:
    hostile = '"/><evil a="'
    rows = [_ok(tmp_path, "sub/a.jpg", label="blurry"), _ok(tmp_path, "b.jpg", group=1, group_kind=hostile,
                                                             best_in_group=0), _ok(tmp_path, "c.jpg"),
            _ok(tmp_path, "../escape.jpg", label="blurry")]
    done = write_sidecars(rows, tmp_path / "out")
    assert (done.written, done.kept) == (2, 1)
    first = _description(tmp_path / "out/xmp/0/sub/a.jpg.xmp")
    assert first[f"{XMP}Rating"] == "-1" and first[f"{XMP}Label"] == "Red" and first[f"{IQA}verdict"] == "blurry"
    assert _description(tmp_path / "out/xmp/0/b.jpg.xmp")[f"{IQA}reason"] == f"not the best of {hostile} 1"
    assert not (tmp_path / "out/xmp/0/c.jpg.xmp").exists() and not (tmp_path / "out/escape.jpg.xmp").exists()


def test_beside_the_photos_only_ours_are_replaced(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg"):
        save_image(photos / name, 640, 480)
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    foreign = photos / "b.jpg.xmp"
    foreign.write_text("<x:xmpmeta darktable:history='my edits'/>")
    ours = photos / "a.jpg.xmp"
    ours.write_bytes(b"old " + MARKER)
    out = tmp_path / "out"
    args = ["audit", str(photos), "-o", str(out), "--workers", "1", "--no-report", "--xmp", "beside"]
    # a fake verdict for both files: rewrite their rows as blurry through the CSV itself
    assert CliRunner().invoke(main, args[:-2]).exit_code == 0
    csv_path = out / "audit.csv"
    text = csv_path.read_text(encoding="utf-8")
    csv_path.write_text(text.replace(",original,", ",blurry,").replace(",sharp,", ",blurry,"), encoding="utf-8")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 existing ones not ours, left alone" in result.output
    assert foreign.read_text() == "<x:xmpmeta darktable:history='my edits'/>"
    assert _description(ours)[f"{XMP}Rating"] == "-1"
    assert {p.name: p.read_bytes() for p in photos.iterdir() if p.suffix == ".jpg"} == before
