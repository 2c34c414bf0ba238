"""The self-contained HTML audit report, its plots, thumbnails and the training report."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from iqa.auditor.results import AuditResult, AuditSummary, encode_patches
from iqa.reports import plots
from iqa.reports.html import write_audit_report
from iqa.reports.thumbnails import draw_patch_map, make_thumb, patch_color
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
    assert html.count("data:image/png;base64,") >= 3  # the plots (+ placeholder)
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
    listed = re.findall(r'<td class="path" title="[^"]*">([^<]*)</td>', section)
    assert listed == ["f11.jpg", "f10.jpg", "f09.jpg", "f08.jpg", "f07.jpg"]
    assert "7 more blurry files omitted" in section


def test_generator_with_only_errors(tmp_path: Path) -> None:
    rows = (AuditResult(path=f"x{i}.jpg", status="error", error=f"reason {i % 3}") for i in range(20))
    summary = AuditSummary(20, 20, {}, 0.0, "m", "1")
    html = write_audit_report(rows, tmp_path / "r.html", summary, error_cap=5).read_text(encoding="utf-8")
    assert "15 more unreadable files omitted" in html
    assert html.count("reason 1") >= 1 and "No files with this verdict." in html


def test_patch_map_scales_corners_and_colours() -> None:
    thumb = np.zeros((48, 64, 3), np.uint8)
    out = draw_patch_map(thumb, [(0, 0, 1.0), (64, 64, 0.0)], (128, 96), 64)
    assert tuple(out[0, 0]) == patch_color(1.0)  # outline of the first patch at the origin
    assert tuple(out[0, 31]) == patch_color(1.0) and tuple(out[32, 32]) == patch_color(0.0)
    assert out[40, 10].sum() == 0 and thumb.sum() == 0  # outside untouched, input not modified


def test_make_thumb_never_raises(tmp_path: Path) -> None:
    thumb = make_thumb(AuditResult(path="nope.jpg", status="ok", root=str(tmp_path)), with_map=True)
    assert thumb.error == "file not found" and thumb.src.startswith("data:image/png;base64,")


def test_plots_render_png_even_without_data() -> None:
    for png in (plots.label_counts_png({}, 0), plots.probability_histogram_png({}),
                plots.sharpness_distribution_png({"blurry": [0.0, np.nan]}), plots.training_curves_png({}),
                plots.confusion_matrix_png(np.eye(3), LABELS3), plots.image_grid_png([], [])):
        assert png.startswith(b"\x89PNG")


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
    assert out.stat().st_size < 2_000_000
    assert html.count("data:image/jpeg;base64,") <= 2 * 3 * 24 + 2 * 40
    assert html.count("<tr>") < 2 * 100 + 60 + 20
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
