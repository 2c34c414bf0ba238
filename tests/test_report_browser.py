"""Open the reports in headless Chromium: images decode, no errors, hostile names stay text."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from iqa.auditor.results import AuditResult, AuditSummary, encode_patches
from iqa.reports.html import write_audit_report
from iqa.reports.training import write_training_report

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>.jpg"
# elements that could only come from markup in file names, EXIF or error texts
INJECTED = """document.querySelectorAll('img:not([src^="data:image/"]), script, iframe').length
    + Array.from(document.querySelectorAll('b')).filter(b => ['broken', 'X'].includes(b.textContent)).length"""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if os.path.exists(found) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _row(root: Path, path: str, label: str, p: float) -> AuditResult:
    rest = (1 - p) / 2
    probs = {k: (p if k == label else rest) for k in ("blurry", "original", "sharp")}
    return AuditResult(path=path, status="ok", label=label, confidence=p, p_blurry=probs["blurry"],
                       p_original=probs["original"], p_sharp=probs["sharp"], sharpness=50 + 500 * p, width=160,
                       height=120, format="JPEG", bytes=5000, camera="Camera <b>X</b>", root=str(root),
                       analysis_width=160, analysis_height=120, patch_size=64,
                       patches=encode_patches([(0, 0), (0, 64), (56, 96)], [0.95, 0.5, 0.05]))


def _report(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(3)
    names = [HOSTILE, "two.jpg", "three.jpg"]
    for name in names:
        cv2.imwrite(str(root / name), cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (160, 120)))
    rows = [_row(root, names[i % 3], ("blurry", "original", "sharp")[i % 3], 0.4 + 0.05 * i) for i in range(12)]
    rows += [_row(root, "missing.jpg", "sharp", 0.99),
             AuditResult(path="bad.jpg", status="error", error="cannot decode: <b>broken</b>", root=str(root))]
    summary = AuditSummary(len(rows), 1, {"blurry": 4, "original": 4, "sharp": 5}, 3.0, "iqa-test", "1", (str(root),))
    return write_audit_report(rows, tmp_path / "report.html", summary)


def _open(browser: Any, path: Path) -> tuple[Any, dict[str, list[str]]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list[str]] = {"console": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["console"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: seen["requests"].append(r.url) if not r.url.startswith(("data:", "file:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


def _images(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("""Array.from(document.images).map(i => ({
        id: i.id, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, data: i.src.startsWith('data:image/')}))""")


def _screenshot(page: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    target = os.environ.get("IQA_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / name)


def test_audit_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    page, seen = _open(browser, _report(tmp_path))
    images = _images(page)
    assert len(images) > 10 and all(i["ok"] and i["data"] for i in images), [i for i in images if not i["ok"]]
    plots = {i["id"]: i["w"] for i in images if i["id"].startswith("plot-")}
    assert set(plots) == {"plot-counts", "plot-p-blurry", "plot-sharpness"} and min(plots.values()) > 300
    text = page.inner_text("body")
    assert HOSTILE in text and "cannot decode: <b>broken</b>" in text and "Camera <b>X</b>" in text
    assert page.evaluate(INJECTED) == 0, "an element was created from user data"
    assert not seen["dialogs"] and not seen["console"] and not seen["requests"], seen
    assert page.eval_on_selector("img.map", "e => getComputedStyle(e).opacity") == "0"
    page.check("#show-maps")  # pure-CSS toggle shows every patch map
    page.wait_for_function("() => getComputedStyle(document.querySelector('img.map')).opacity === '1'", timeout=5000)
    _screenshot(page, tmp_path, "audit_report.png")
    page.close()


def test_training_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    mis = [(np.full((16, 16, 3), 40 * i, np.uint8), "blurry", "original", 0.6) for i in range(4)]
    out = write_training_report(tmp_path, history={"loss": [1.0, 0.6], "accuracy": [0.5, 0.7]},
                                confusion=np.array([[5, 1, 0], [1, 4, 1], [0, 2, 6]]),
                                labels=("blurry", "original", "sharp"), misclassified=mis,
                                metrics={"accuracy": 0.75}, title="Evaluation")
    page, seen = _open(browser, out)
    images = _images(page)
    assert len(images) == 3 and all(i["ok"] and i["data"] for i in images)
    assert not seen["dialogs"] and not seen["console"] and not seen["requests"], seen
    _screenshot(page, tmp_path, "training_report.png")
    page.close()
