"""Training / evaluation report: PNG plots in a folder plus a self-contained ``report.html``.

Used by ``iqa train`` and ``iqa evaluate``. Files written into ``out_dir``:

* ``curves.png`` - accuracy and loss per epoch (when ``history`` is given);
* ``confusion.png`` - confusion matrix (when ``confusion`` is given);
* ``misclassified.png`` - the most confidently misclassified samples, at most
  :data:`MISCLASSIFIED_CAP` of them (when any are given);
* ``report.html`` - embeds those PNGs as ``data:`` URIs, with the metrics table and
  per-class precision / recall / F1 derived from the confusion matrix.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from iqa.auditor.labels import LABELS
from iqa.auditor.metrics import per_class
from iqa.reports import plots
from iqa.reports.html import template_environment, write_text_atomic
from iqa.reports.thumbnails import png_data_uri

MISCLASSIFIED_CAP = 48
Misclassified = tuple[np.ndarray, str, str, float]


def per_class_rows(confusion: np.ndarray, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support per class from a (true x predicted) confusion matrix.

    Parameters
    ----------
    confusion : (n, n) counts, rows are true classes, columns predictions.
    labels : class names in matrix order.

    Returns
    -------
    list of dict
        One dict per class with keys ``label, precision, recall, f1, support``.
    """
    stats = per_class(np.asarray(confusion, dtype=np.float64), labels)
    return [{"label": str(label), **s} for label, s in stats.items()]


def _fmt_metric(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:300]
    return f"{number:.4f}" if math.isfinite(number) else str(number)


def _metric_rows(metrics: Mapping[str, Any] | None, confusion: np.ndarray | None) -> list[tuple[str, str]]:
    rows = {str(k): _fmt_metric(v) for k, v in (metrics or {}).items()}
    if confusion is not None and "accuracy" not in rows:
        cm = np.asarray(confusion, dtype=np.float64)
        if cm.sum():
            rows["accuracy"] = _fmt_metric(np.trace(cm) / cm.sum())
            rows.setdefault("samples", _fmt_metric(int(cm.sum())))
    return list(rows.items())


def _misclassified_png(items: Sequence[Misclassified]) -> bytes:
    ranked = sorted(items, key=lambda it: -float(it[3]))[:MISCLASSIFIED_CAP]
    captions = [f"true {t}\npred {p} {float(prob):.2f}" for _, t, p, prob in ranked]
    title = f"Most confident mistakes ({len(ranked)} of {len(items)})"
    return plots.image_grid_png([it[0] for it in ranked], captions, title=title)


def _write_png(out_dir: Path, name: str, data: bytes) -> dict[str, str]:
    (out_dir / name).write_bytes(data)
    return {"name": name, "src": png_data_uri(data)}


def write_training_report(out_dir: str | Path, *, history: Mapping[str, Sequence[float]] | None = None,
                          confusion: np.ndarray | None = None, labels: Sequence[str] = LABELS,
                          misclassified: Sequence[Misclassified] | None = None,
                          metrics: Mapping[str, float] | None = None, title: str = "Training report") -> Path:
    """Write the training/evaluation plots and a self-contained ``report.html`` into ``out_dir``.

    Parameters
    ----------
    out_dir : folder for ``curves.png``, ``confusion.png``, ``misclassified.png`` and ``report.html``.
    history : per-epoch series, e.g. ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``.
    confusion : (n, n) counts, rows true labels, columns predicted labels.
    labels : class names in confusion-matrix order.
    misclassified : ``(image, true_label, predicted_label, probability)``; image is RGB uint8.
    metrics : scalar metrics shown in the metrics table.
    title : page title.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    if history and any(len(v) for v in history.values()):
        figures.append(("Learning curves", _write_png(out, "curves.png", plots.training_curves_png(history))))
    has_confusion = confusion is not None and np.asarray(confusion).size > 0
    if has_confusion:
        png = plots.confusion_matrix_png(confusion, labels)
        figures.append(("Confusion matrix", _write_png(out, "confusion.png", png)))
    if misclassified:
        png = _misclassified_png(misclassified)
        figures.append(("Misclassified samples", _write_png(out, "misclassified.png", png)))
    context = {
        "title": title, "labels": LABELS, "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "metrics": _metric_rows(metrics, confusion), "figures": figures,
        "per_class": per_class_rows(confusion, labels) if has_confusion else [],
        "misclassified_total": len(misclassified or ()), "cap": MISCLASSIFIED_CAP,
    }
    html = template_environment().get_template("training_report.html.j2").render(**context)
    return write_text_atomic(out / "report.html", html)
