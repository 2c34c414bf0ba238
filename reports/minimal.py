"""A dependency-free HTML report, used when the full report (``reports.html``) is unavailable.

Every string that comes from a file (names, EXIF, error reasons) is escaped with
:func:`html.escape`; bytes that are not valid UTF-8 are shown as replacement characters.
"""
from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from iqa.auditor.results import AuditResult, AuditSummary
from iqa.reports.atomic import atomic_output

_STYLE = ("body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}")


def _esc(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return html.escape(text, quote=True)


def _row(r: AuditResult) -> str:
    conf = f"{r.confidence:.3f}" if r.confidence is not None else ""
    cells = (os.path.join(r.root, r.path), r.status, r.label, conf, r.error)
    return "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>"


def write_minimal_report(results: Iterable[AuditResult], out_path: str | Path, summary: AuditSummary) -> Path:
    """Write a plain HTML table of ``results`` (one pass over ``results``, atomic replace).

    Parameters
    ----------
    results : audited rows (may be a generator).
    out_path : HTML file to write.
    summary : run totals shown above the table (model name and version included).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    counts = ", ".join(f"{_esc(k)}: {v}" for k, v in summary.counts.items())
    model = f"{summary.model_name} {summary.model_version}"
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>iqa audit</title>"
            f"<style>{_STYLE}</style></head><body><h1>iqa audit</h1>"
            f"<p>{summary.files} files, {summary.errors} unreadable. {counts}. Model: {_esc(model)}.</p>"
            "<table><thead><tr><th>file</th><th>status</th><th>label</th><th>confidence</th>"
            "<th>error</th></tr></thead><tbody>\n")
    with atomic_output(out_path, encoding="utf-8") as fh:
        fh.write(head)
        for r in results:
            fh.write(_row(r) + "\n")
        fh.write("</tbody></table></body></html>\n")
    return out_path
