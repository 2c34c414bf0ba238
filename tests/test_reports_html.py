"""The self-contained HTML audit report, its plots, thumbnails and the training report."""
from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from iqa.auditor.results import AuditResult, AuditSummary, encode_patches
from iqa.reports import plots
from iqa.reports.html import write_audit_report
from iqa.reports.thumbnails import make_thumb, patch_boxes, patch_color, patch_map_svg
from iqa.reports.training import per_class_rows, write_training_report

LABELS3 = ("blurry", "original", "sharp")


def _image(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    cv2.circle(img, (w // 2, h // 2), min(h, w) // 4, (255, 255, 255), -1)
    return img


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A root folder with three tiny photos (one portrait, one PNG)."""
    root = tmp_path / "photos"
    root.mkdir()
    for name, (h, w) in {"a.jpg": (96, 128), "b.jpg": (128, 96), "c.png": (72, 120)}.items():
        cv2.imwrite(str(root / name), _image(h, w, len(name) + h))
    return root


def ok_row(root: Path, path: str, label: str, p: float, **extra: object) -> AuditResult:
    """An ok row whose verdict ``label`` has probability ``p`` (rest split evenly)."""
    probs = {k: (p if k == label else (1 - p) / 2) for k in LABELS3}
    corners = [(0, 0), (64, 64), (0, 64)]
    fields = dict(path=path, status="ok", label=label, confidence=p, p_blurry=probs["blurry"],
                  p_original=probs["original"], p_sharp=probs["sharp"], sharpness=10 + 900 * p, width=1280,
                  height=960, format="JPEG", bytes=12345, camera="Canon EOS R5", lens="RF 50mm", root=str(root),
                  analysis_width=128, analysis_height=96, patch_size=64,
                  patches=encode_patches(corners, [0.9, 0.1, 0.5]))
    fields.update(extra)
    return AuditResult(**fields)  # type: ignore[arg-type]


def summary_of(rows: list[AuditResult], root: Path) -> AuditSummary:
    counts = {k: sum(r.ok and r.label == k for r in rows) for k in LABELS3}
    return AuditSummary(len(rows), sum(not r.ok for r in rows), counts, 2.5, "iqa-test", "7", (str(root),))


def sample_rows(root: Path) -> list[AuditResult]:
    rows = [ok_row(root, name, label, p) for name, label, p in
            [("a.jpg", "blurry", 0.95), ("b.jpg", "blurry", 0.41), ("c.png", "original", 0.8),
             ("a.jpg", "sharp", 0.7), ("b.jpg", "original", 0.55)]]
    rows.append(ok_row(root, "gone/missing.jpg", "sharp", 0.9))
    rows.append(AuditResult(path="broken.jpg", status="error", error="cannot decode: truncated file", root=str(root)))
    return rows


def card_names(html: str, label: str) -> list[str]:
    section = html.split(f'id="gallery-{label}"', 1)[1].split('class="gallery"', 1)[0]
    return re.findall(r'<div class="name" title="[^"]*">([^<]*)</div>', section)


def test_report_is_self_contained(photos: Path, tmp_path: Path) -> None:
    rows = sample_rows(photos)
    out = write_audit_report(iter(rows), tmp_path / "out" / "report.html", summary_of(rows, photos))
    html = out.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert html.count("data:image/jpeg;base64,") >= 5
    svgs = re.findall(r'<img (?:class="(\w+)"|id="([\w-]+)")[^>]*src="data:image/svg\+xml;base64,', html)
    assert sorted(i for c, i in svgs if i) == ["plot-counts", "plot-p-blurry", "plot-sharpness"]
    assert {c for c, i in svgs if c} == {"map"} and len(svgs) > 3  # the rest are patch maps over photos
    assert html.count("data:image/png;base64,") >= 1  # the placeholder of the missing file
    for label in LABELS3:
        assert f'id="gallery-{label}"' in html
    assert 'id="flagged-blurry"' in html and 'id="flagged-sharp"' in html
    assert "cannot decode: truncated file" in html and "broken.jpg" in html
    assert "thumbnail unavailable: file not found" in html  # the missing file degrades to a placeholder
    assert "iqa-test 7" in html and str(photos) in html


def test_gallery_has_confident_and_borderline(photos: Path, tmp_path: Path) -> None:
    rows = [ok_row(photos, f"a.jpg#{i}", "blurry", 0.35 + i * 0.06) for i in range(10)]
    out = write_audit_report((r for r in rows), tmp_path / "r.html", summary_of(rows, photos), gallery_per_label=4)
    names = card_names(out.read_text(encoding="utf-8"), "blurry")
    assert names == ["a.jpg#9", "a.jpg#8", "a.jpg#0", "a.jpg#1"]  # 2 most confident, then 2 borderline


def test_flagged_table_sorted_capped_and_counted(photos: Path, tmp_path: Path) -> None:
    rows = [ok_row(photos, f"f{i:02d}.jpg", "blurry", 0.4 + i * 0.02) for i in range(12)]
    out = write_audit_report(rows, tmp_path / "r.html", summary_of(rows, photos), flagged_cap=5)
    section = out.read_text(encoding="utf-8").split('id="flagged-blurry"', 1)[1].split("</section>", 1)[0]
    listed = re.findall(r'<td class="path" title="[^"]*"><a href="[^"]*">([^<]*)</a></td>', section)
    assert listed == ["f11.jpg", "f10.jpg", "f09.jpg", "f08.jpg", "f07.jpg"]
    assert "7 more blurry files omitted" in section


def test_generator_with_only_errors(tmp_path: Path) -> None:
    rows = (AuditResult(path=f"x{i}.jpg", status="error", error=f"reason {i % 3}") for i in range(20))
    summary = AuditSummary(20, 20, {}, 0.0, "m", "1")
    html = write_audit_report(rows, tmp_path / "r.html", summary, error_cap=5).read_text(encoding="utf-8")
    assert "15 more unreadable files omitted" in html
    assert html.count("reason 1") >= 1 and "No files with this verdict." in html


def test_patch_map_scales_corners_and_colours() -> None:
    boxes = patch_boxes([(0, 0, 1.0), (64, 64, 0.0), (96, 126, 0.5)], (128, 96), 64, (64, 48))
    # corners halve with the thumbnail; the last patch lies outside the frame and is dropped
    assert boxes == [(0, 0, 31, 31, patch_color(1.0)), (32, 32, 63, 47, patch_color(0.0))]


def test_patch_map_svg_is_a_transparent_overlay_of_the_boxes() -> None:
    import xml.etree.ElementTree as ET

    svg = ET.fromstring(patch_map_svg([(0, 0, 1.0), (64, 64, 0.0)], (128, 96), 64, (240, 180)))
    ns = "{http://www.w3.org/2000/svg}"
    red, green = ("#%02x%02x%02x" % patch_color(p) for p in (1.0, 0.0))
    assert (svg.get("width"), svg.get("height"), svg.get("viewBox")) == ("240", "180", "0 0 240 180")
    fills, outlines = svg.findall(f"{ns}g")
    assert fills.get("fill-opacity") == "0.35" and outlines.get("fill") == "none"
    assert [(e.get("fill"), e.get("d")) for e in fills] == [(red, "M0 0h120v120h-120z"),
                                                            (green, "M120 120h120v60h-120z")]
    halo, *lines = outlines
    # 2 px outlines on a 240 px thumbnail: inside each patch, in its colour, over a dark halo around it
    assert [(e.get("stroke"), e.get("d")) for e in lines] == [(red, "M1 1h118v118h-118z"),
                                                              (green, "M121 121h118v58h-118z")]
    assert halo.get("stroke") == "#141414" and halo.get("d") == "M0 0h120v120h-120zM120 120h120v60h-120z"  # one pixel further out
    assert outlines.get("stroke-width") == "2"


def test_make_thumb_never_raises(tmp_path: Path) -> None:
    thumb = make_thumb(AuditResult(path="nope.jpg", status="ok", root=str(tmp_path)), with_map=True)
    assert thumb.error == "file not found" and thumb.src.startswith("data:image/png;base64,")


def test_plots_render_png_even_without_data() -> None:
    for png in (plots.label_counts_png({}, 0), plots.probability_histogram_png({}),
                plots.sharpness_distribution_png({"blurry": [0.0, np.nan]}), plots.training_curves_png({}),
                plots.confusion_matrix_png(np.eye(3), LABELS3), plots.image_grid_png([], [])):
        assert png.startswith(b"\x89PNG")


def test_svg_plots_are_well_formed_with_and_without_data() -> None:
    import xml.etree.ElementTree as ET

    from iqa.reports import svg

    ns = "{http://www.w3.org/2000/svg}"
    empty = [svg.label_counts_svg({}, 0), svg.probability_histogram_svg({}),
             svg.sharpness_distribution_svg({"blurry": [0.0, np.nan]})]
    for text in empty:
        assert ET.fromstring(text).tag == f"{ns}svg"
    assert "no data" in empty[1] and "no data" in empty[2]
    counts = ET.fromstring(svg.label_counts_svg({"blurry": 3, "original": 9}, errors=2))
    widths = [float(r.get("width")) for r in counts.iter(f"{ns}rect") if r.get("fill") != "white"]
    assert len(widths) == 4 and widths[1] == pytest.approx(3 * widths[0], abs=0.2) and widths[2] == 0  # sharp: 0 files
    hist = ET.fromstring(svg.probability_histogram_svg({"blurry": [0.97, 0.99], "sharp": [0.01]}, bins=10))
    fills = {r.get("fill") for r in hist.iter(f"{ns}rect") if r.get("height")}
    assert {"#d1495b", "#8e5cc4"} <= fills
    dist = ET.fromstring(svg.sharpness_distribution_svg({"original": np.geomspace(1, 1000, 50)}))
    assert len(list(dist.iter(f"{ns}polygon"))) == 1
    assert svg.nice_ticks(7) == [0, 2, 4, 6, 8] and svg.nice_ticks(1)[-1] >= 1


def test_worker_thumbnails_are_embedded_without_reading_the_file(photos: Path, tmp_path: Path) -> None:
    import cv2

    from iqa.reports.html import AuditReportBuilder

    jpeg = cv2.imencode(".jpg", np.full((180, 240, 3), 90, np.uint8))[1].tobytes()
    small = cv2.imencode(".jpg", np.full((72, 96, 3), 30, np.uint8))[1].tobytes()
    row = ok_row(photos, "gone/never-there.jpg", "blurry", 0.9)
    builder = AuditReportBuilder()
    builder.add(row, jpeg, small)
    html = builder.write(tmp_path / "r.html", summary_of([row], photos)).read_text(encoding="utf-8")
    assert "thumbnail unavailable" not in html  # the file is gone: the worker's thumbnail was used
    assert "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii") in html  # the gallery card
    flagged = html.split('id="flagged-blurry"', 1)[1].split("</section>", 1)[0]
    assert "data:image/jpeg;base64," + base64.b64encode(small).decode("ascii") in flagged  # the table, as it is


def test_the_audit_report_does_not_import_matplotlib() -> None:
    code = "import sys, iqa.reports.html; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1], timeout=60)


def test_bounded_size_for_many_rows(photos: Path, tmp_path: Path) -> None:
    names = ["a.jpg", "b.jpg", "c.png"]
    rng = np.random.default_rng(1)

    def rows() -> Iterator[AuditResult]:
        for i in range(3000):
            if i % 50 == 0:
                yield AuditResult(path=f"bad/{i}.jpg", status="error", error="cannot decode: x")
            else:
                yield ok_row(photos, names[i % 3], LABELS3[i % 3], float(rng.uniform(0.34, 1.0)))

    summary = AuditSummary(3000, 60, {"blurry": 980, "original": 980, "sharp": 980}, 60.0, "m", "1")
    out = write_audit_report(rows(), tmp_path / "big.html", summary, flagged_cap=100)
    html = out.read_text(encoding="utf-8")
    # every flagged row has a thumbnail (its patch map); 100 delete candidates have a thumbnail
    assert html.count("data:image/jpeg;base64,") <= 2 * 3 * 24 + 2 * 100 + 100
    assert out.stat().st_size < 3_000_000
    assert html.count("<tr>") < 2 * 100 + 300 + 60 + 20
    assert "680 more omitted" in html  # delete candidates beyond the 300 listed
    assert "880 more blurry files omitted" in html


def test_training_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    mis = [(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), "blurry", "sharp", 0.9 - i / 100) for i in range(5)]
    cm = np.array([[8, 1, 1], [0, 9, 1], [2, 0, 8]])
    out = write_training_report(tmp_path / "train", history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
                                "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}, confusion=cm,
                                labels=LABELS3, misclassified=mis, metrics={"accuracy": 0.8333, "epochs": 2},
                                title="Evaluation")
    for name in ("curves.png", "confusion.png", "misclassified.png"):
        assert (tmp_path / "train" / name).read_bytes().startswith(b"\x89PNG")
    html = out.read_text(encoding="utf-8")
    assert out.name == "report.html" and html.count("data:image/png;base64,") == 3
    assert "0.8333" in html and "<script" not in html and "Per class" in html
    first = per_class_rows(cm, LABELS3)[0]
    assert first["label"] == "blurry" and first["support"] == 10
    assert (first["precision"], first["recall"], first["f1"]) == pytest.approx((0.8, 0.8, 0.8))


def test_training_report_without_data(tmp_path: Path) -> None:
    out = write_training_report(tmp_path, history=None, confusion=None, labels=LABELS3, misclassified=[],
                                metrics=None, title="Empty")
    assert "No plots" in out.read_text(encoding="utf-8") and not (tmp_path / "curves.png").exists()


def test_one_file_is_not_one_files(photos: Path, tmp_path: Path) -> None:
    rows = [ok_row(photos, "a.jpg", "blurry", 0.9)]
    html = write_audit_report(rows, tmp_path / "r.html", summary_of(rows, photos)).read_text(encoding="utf-8")
    assert "1 files" not in html
    assert re.search(r'Flagged <span class="badge l-blurry">blurry</span> <span class="muted">1 file</span>', html)
    assert 'href="#plots">Distributions</a>' in html and ">Plots<" not in html


def test_count_axes_have_integer_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.ticker import MaxNLocator

    seen = []
    monkeypatch.setattr(plots, "_render", lambda fig: seen.append([ax.yaxis.get_major_locator() for ax in fig.axes]))
    plots.probability_histogram_png({"blurry": np.array([0.9])})
    plots.sharpness_distribution_png({"blurry": np.array([50.0])})
    assert len(seen) == 2 and all(isinstance(loc, MaxNLocator) and loc._integer for locs in seen for loc in locs)


def test_svg_count_axes_have_integer_ticks() -> None:
    import xml.etree.ElementTree as ET

    from iqa.reports import svg

    for text in (svg.probability_histogram_svg({"blurry": np.array([0.9])}),
                 svg.sharpness_distribution_svg({"blurry": np.array([50.0, 60.0])})):
        ticks = [t.text for t in ET.fromstring(text).iter("{http://www.w3.org/2000/svg}text")
                 if t.get("text-anchor") == "end"]  # the y axis: files
        assert ticks == ["0", "1"]


def test_a_file_in_several_sections_is_decoded_once_per_size(photos: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from iqa.reports import thumbnails

    calls: list[tuple[str, int]] = []
    real = thumbnails.load_thumbnail
    monkeypatch.setattr(thumbnails, "load_thumbnail", lambda p, side=240: calls.append((str(p), side)) or real(p, side))
    burst = dict(group=1, group_kind="burst")
    rows = [ok_row(photos, "a.jpg", "blurry", 0.9, best_in_group=0, **burst),  # gallery, flagged, rejects, strip
            ok_row(photos, "b.jpg", "original", 0.8, best_in_group=1, **burst)]
    html = write_audit_report(rows, tmp_path / "r.html", summary_of(rows, photos)).read_text(encoding="utf-8")
    assert 'id="burst-1"' in html and "not the best of burst 1" in html
    assert sorted(calls) == sorted(set(calls)) and len(calls) == 3  # a.jpg at 240 and 96 px, b.jpg at 240 px


def test_the_audit_job_shows_worker_thumbnails_without_reading_photos(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from iqa.auditor.pipeline import AuditConfig
    from iqa.job import audit_to_folder
    from iqa.reports import thumbnails

    root = tmp_path / "photos"
    root.mkdir()
    for i in range(6):
        cv2.imwrite(str(root / f"p{i}.jpg"), _image(120, 160, i))
    calls: list[str] = []
    real = thumbnails.load_thumbnail
    monkeypatch.setattr(thumbnails, "load_thumbnail",
                        lambda path, side=240: calls.append(str(path)) or real(path, side))
    job = audit_to_folder([root], tmp_path / "out", AuditConfig(workers=1))
    html = job.report_path.read_text(encoding="utf-8")
    assert html.count("data:image/jpeg;base64,") >= 6 and "thumbnail unavailable" not in html
    assert calls == []  # every shown file had its worker's thumbnail
    job = audit_to_folder([root], tmp_path / "out", AuditConfig(workers=1))  # resumed: nothing new, files read
    assert len(set(calls)) == 6


def test_compiled_templates_are_cached_and_render_the_same(tmp_path):
    from jinja2 import FileSystemBytecodeCache

    from iqa.reports.html import template_environment

    base = template_environment()
    assert base.bytecode_cache is not None  # compiling the templates costs ~0.17 s per audit
    cache = FileSystemBytecodeCache(str(tmp_path))
    outputs = []
    for bytecode_cache in (None, cache, cache):  # compile, compile and store, load from the cache
        env = base.overlay(bytecode_cache=bytecode_cache, cache_size=0)
        module = env.get_template("macros.html.j2").module
        outputs.append(sorted(k for k in vars(module) if not k.startswith("_")))
    assert len(list(tmp_path.iterdir())) == 1
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0]


def test_burst_frames_grouped_after_the_run_use_the_spilled_worker_thumbnails(photos: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from iqa.reports import thumbnails
    from iqa.reports.html import AuditReportBuilder

    calls: list[str] = []
    real = thumbnails.load_thumbnail
    monkeypatch.setattr(thumbnails, "load_thumbnail", lambda path, side=240: calls.append(str(path)) or real(path, side))
    names = ["a.jpg", "b.jpg", "c.png"]
    rows = [ok_row(photos, name, "original", 0.9) for name in names]
    builder = AuditReportBuilder(gallery_per_label=0)  # no row is shown while the audit runs
    for i, row in enumerate(rows):
        ok, jpeg = cv2.imencode(".jpg", _image(60, 80, 7 * i))
        builder.add(row, jpeg.tobytes())
    assert builder._jpegs.in_memory() == 0  # nothing held in memory
    grouped = [dataclasses.replace(r, group=1, group_kind="burst", best_in_group=int(i == 0))
               for i, r in enumerate(rows)]
    html = builder.write(tmp_path / "r.html", summary_of(grouped, photos), rows=grouped).read_text(encoding="utf-8")
    assert 'id="burst-1"' in html and "thumbnail unavailable" not in html
    assert calls == []  # the frames came from the temporary file, no photo decoded again


def test_thumb_store_round_trip_and_limits() -> None:
    from iqa.reports.thumb_store import ThumbStore

    store = ThumbStore()
    store.keep(("r", "a"), b"in memory")
    store.spill(("r", "b"), b"on disk")
    store.retain_only([("r", "b")])  # a leaves memory for the file
    assert store.in_memory() == 0
    assert store.get(("r", "a")) == b"in memory" and store.get(("r", "b")) == b"on disk"
    store.spill(("r", "d"), b"large", b"small")
    store.keep(("r", "e"), b"kept", b"tiny")
    assert store.get(("r", "d")) == b"large" and store.get(("r", "d"), small=True) == b"small"
    assert store.get(("r", "e"), small=True) == b"tiny" and store.get(("r", "a"), small=True) is None
    store.max_spill_bytes = 10
    store.spill(("r", "c"), b"too big for what is left")
    assert store.get(("r", "c")) is None
    store.close()
    assert store.get(("r", "b")) is None


def test_a_broken_template_cache_never_fails_the_report(tmp_path, monkeypatch):
    from iqa.reports import html
    from iqa.reports.bytecode_cache import QuietBytecodeCache

    cache = QuietBytecodeCache(str(tmp_path / "gone"))  # its folder does not exist: every dump fails
    env = html.template_environment().overlay(bytecode_cache=cache, cache_size=0)
    assert env.get_template("macros.html.j2") is not None
    (tmp_path / "gone").mkdir()
    env.get_template("macros.html.j2")
    for f in (tmp_path / "gone").iterdir():
        f.write_bytes(b"not bytecode")  # a damaged cache file: compiled again, not an error
    assert env.get_template("macros.html.j2") is not None
