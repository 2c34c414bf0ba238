"""Hostile file names, EXIF strings and error texts render as text in both HTML reports."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from markupsafe import escape

from iqa.auditor.results import AuditResult, AuditSummary, encode_patches
from iqa.reports.html import write_audit_report
from iqa.reports.training import write_training_report

HOSTILE = [
    "<img src=x onerror=alert(1)>.jpg",
    '"><script>alert(2)</script>',
    "' onmouseover='alert(3)' x='",
    "</style><svg onload=alert(4)>",
    "</title></textarea><iframe src=javascript:alert(5)>",
    "<!-- --><a href='//evil.example'>x</a>",
]
RAW_MARKERS = ["<img src=x", "<script", "<svg", "<iframe", "<a href='", "<!-- -->", "evil.example'>"]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "nav", "a", "main", "section", "footer",
                "h1", "h2", "h3", "div", "span", "p", "b", "br", "table", "thead", "tbody", "tr", "th", "td", "img",
                "figure", "figcaption", "input", "label", "dl", "dt", "dd", "code"}


class _Tags(HTMLParser):
    """Every start tag and attribute name of a document, as a browser tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _ok(root: Path, path: str, label: str, text: str) -> AuditResult:
    return AuditResult(path=path, status="ok", label=label, confidence=0.9, p_blurry=0.9 if label == "blurry" else 0.05,
                       p_original=0.05, p_sharp=0.9 if label == "sharp" else 0.05, sharpness=12.0, width=64, height=48,
                       format=text, bytes=1, camera=text, lens=text, exposure_time=text, focal_length=text,
                       root=str(root), analysis_width=64, analysis_height=48, patch_size=32,
                       patches=encode_patches([(0, 0)], [0.7]))


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp_path = tmp_path_factory.mktemp("hostile")
    root = tmp_path / "photos"
    root.mkdir()
    cv2.imwrite(str(root / HOSTILE[0]), np.full((48, 64, 3), 128, np.uint8))  # a real file: real thumbnail
    rows = [_ok(root, HOSTILE[0], "blurry", HOSTILE[1])]
    rows += [_ok(root, name, label, text) for name, label, text in zip(HOSTILE[1:], ["sharp", "original"] * 3, HOSTILE)]
    rows += [AuditResult(path=name, status="error", error=text, root=text)
             for name, text in zip(HOSTILE, HOSTILE[::-1])]
    summary = AuditSummary(len(rows), len(HOSTILE), {"blurry": 1}, 1.0, HOSTILE[3], HOSTILE[4], tuple(HOSTILE))
    out = write_audit_report(rows, tmp_path / "report.html", summary, model_info={"name": HOSTILE[2], HOSTILE[5]: "x"})
    return out.read_text(encoding="utf-8")


def test_no_raw_markup_from_user_data(hostile_report: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in hostile_report, marker
    parsed = _parse(hostile_report)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert not [a for a in parsed.attrs if a.startswith("on")], "an event-handler attribute was emitted"
    files = [h for h in parsed.hrefs if not h.startswith("#")]  # links to the audited files
    assert files and all(re.fullmatch(r"[A-Za-z0-9%/._~-]+", h) and not h.startswith("//") for h in files), \
        "links to files are relative and percent-encoded: no scheme, no quote, no markup"


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_text_appears_escaped(hostile_report: str, text: str) -> None:
    assert str(escape(text)) in hostile_report
    assert text not in hostile_report


def test_hostile_name_is_a_card_and_a_thumbnail(hostile_report: str) -> None:
    assert re.search(f'<div class="name" title="[^"]*">{re.escape(escape(HOSTILE[0]))}</div>', hostile_report)
    assert f'alt="thumbnail of {escape(HOSTILE[0])}"' in hostile_report
    assert "thumbnail unavailable" in hostile_report  # the other names have no file: placeholders


def test_only_our_data_uris_in_src(hostile_report: str) -> None:
    sources = re.findall(r'\ssrc="([^"]*)"', hostile_report)
    assert sources and all(re.fullmatch(r"data:image/(jpeg|png|svg\+xml);base64,[A-Za-z0-9+/=]+", s) for s in sources)


def test_undecodable_file_name_bytes(tmp_path: Path) -> None:
    name = b"caf\xe9-\xff.jpg".decode("utf-8", "surrogateescape")
    rows = [AuditResult(path=name, status="error", error="file not found")]
    out = write_audit_report(rows, tmp_path / "r.html", AuditSummary(1, 1, {}, 1.0, "m", "1"))
    # shown like on the terminal (display.printable): raw bytes as \\x escapes
    assert "caf\\xe9-\\xff.jpg" in out.read_text(encoding="utf-8")


def test_training_report_escapes(tmp_path: Path) -> None:
    labels = ("<b>blurry</b>", "original", "sharp")
    img = np.zeros((8, 8, 3), np.uint8)
    out = write_training_report(tmp_path, history={"loss": [1.0]}, confusion=np.eye(3, dtype=int), labels=labels,
                                misclassified=[(img, labels[0], "sharp", 0.5)],
                                metrics={HOSTILE[0]: 1.0, "note": HOSTILE[1]}, title=HOSTILE[4])
    html = out.read_text(encoding="utf-8")
    for marker in RAW_MARKERS + ["<b>blurry"]:
        assert marker not in html, marker
    assert _parse(html).tags <= ALLOWED_TAGS
    assert str(escape(HOSTILE[4])) in html and str(escape(labels[0])) in html
