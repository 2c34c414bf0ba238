"""The audit report's three plots as small hand-written SVG documents (no matplotlib).

Matplotlib costs 0.3 s to import and about 0.14 s per figure; these plots are bars and
step lines, a few kilobytes of SVG built in a millisecond. Each function takes plain
arrays and returns SVG text; :func:`svg_data_uri` wraps it for an ``<img>`` (an SVG shown
through ``<img>`` runs no script and loads nothing). Every text drawn is ours (label
names, numbers), escaped all the same.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

from iqa.reports.palette import ERROR_COLOR, GRID_COLOR, TEXT_COLOR, label_color, ordered_names, ordered_series

WIDTH, HEIGHT = 616, 374  # the PNG plots' size at 110 dpi (5.6 x 3.4 in)
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 44
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def svg_data_uri(svg: str) -> str:
    """Wrap SVG text in a base64 ``data:`` URI."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def nice_ticks(top: float, count: int = 5, integer: bool = True) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of ten).

    ``integer``: steps of at least 1 (every axis here counts files: no 0.5 ticks).
    """
    top = max(float(top), 1e-12)
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if integer else step
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:g}"


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, weight: str = "normal") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' font-size='{size}' font-weight='{weight}' "
            f"fill='{TEXT_COLOR}'>{escape(text)}</text>")


def _document(width: int, height: int, title: str, body: list[str]) -> str:
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' {FONT}><rect width='100%' height='100%' fill='white'/>")
    return head + _text(8, 20, title, size=13) + "".join(body) + "</svg>"


def _frame(x_ticks: list[tuple[float, str]], y_ticks: list[tuple[float, str]], x_label: str,
           y_label: str, size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[str]:
    """Grid lines, tick labels and axis titles; tick positions are already in pixels."""
    w, h = size
    out = []
    for y, label in y_ticks:
        out.append(f"<line x1='{LEFT}' x2='{w - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID_COLOR}'/>")
        out.append(_text(LEFT - 6, y + 4, label, "end", 10))
    for x, label in x_ticks:
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{h - BOTTOM}' stroke='{GRID_COLOR}'/>")
        out.append(_text(x, h - BOTTOM + 16, label, "middle", 10))
    out.append(f"<line x1='{LEFT}' x2='{w - RIGHT}' y1='{h - BOTTOM}' y2='{h - BOTTOM}' stroke='{TEXT_COLOR}'/>")
    out.append(_text((LEFT + w - RIGHT) / 2, h - 8, x_label, "middle"))
    if y_label:
        out.append(f"<g transform='translate(14 {(TOP + h - BOTTOM) / 2:.1f}) rotate(-90)'>"
                   f"{_text(0, 0, y_label, 'middle')}</g>")
    return out


def _legend(names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        x, y = WIDTH - RIGHT - 96, TOP + 6 + 16 * i
        out.append(f"<rect x='{x}' y='{y}' width='12' height='10' fill='{label_color(name)}'/>")
        out.append(_text(x + 18, y + 9, name, size=10))
    return out


def _no_data(size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[str]:
    w, h = size
    return [f"<text x='{w / 2}' y='{h / 2}' text-anchor='middle' font-size='12' fill='{ERROR_COLOR}'>no data</text>"]


def label_counts_svg(counts: Mapping[str, int], errors: int = 0) -> str:
    """Horizontal bars of files per verdict (labels of ``LABELS`` always shown), plus unreadable files."""
    names = ordered_names(counts)
    values = [int(counts.get(k, 0)) for k in names]
    colors = [label_color(k) for k in names]
    if errors:
        names, values, colors = names + ["unreadable"], values + [int(errors)], colors + [ERROR_COLOR]
    size = (572, 34 * len(names) + 84)
    x0, x1 = LEFT + 40, size[0] - RIGHT - 40
    ticks = nice_ticks(max(values + [1]))
    scale = (x1 - x0) / ticks[-1]
    body = [f"<line x1='{x0 + t * scale:.1f}' x2='{x0 + t * scale:.1f}' y1='{TOP}' y2='{size[1] - BOTTOM}' "
            f"stroke='{GRID_COLOR}'/>" + _text(x0 + t * scale, size[1] - BOTTOM + 16, _fmt(t), "middle", 10)
            for t in ticks]
    for i, (name, value, color) in enumerate(zip(names, values, colors)):
        y = TOP + 8 + 34 * i
        body.append(_text(x0 - 8, y + 15, name, "end"))
        body.append(f"<rect x='{x0}' y='{y}' width='{value * scale:.1f}' height='21' fill='{color}'/>")
        body.append(_text(x0 + value * scale + 5, y + 15, f"{value:,}", size=10))
    body.append(_text((x0 + x1) / 2, size[1] - 8, "files", "middle"))
    return _document(size[0], size[1], "Files per verdict", body)


def _histograms(series: Sequence[tuple[str, np.ndarray]], edges: np.ndarray) -> list[tuple[str, np.ndarray]]:
    return [(k, np.histogram(v, bins=edges)[0]) for k, v in series]


def probability_histogram_svg(p_blurry: Mapping[str, Sequence[float] | np.ndarray], bins: int = 20) -> str:
    """Stacked histogram of the blur probability over [0, 1], one colour per predicted label."""
    series = [(k, v[np.isfinite(v)]) for k, v in ordered_series(p_blurry)]
    series = [(k, np.clip(v, 0.0, 1.0)) for k, v in series if v.size]
    x0, x1, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM
    x_ticks = [(x0 + t * (x1 - x0), f"{t:g}") for t in (0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    if not series:
        return _document(WIDTH, HEIGHT, "Blur probability by verdict",
                         _frame(x_ticks, [], "p_blurry", "files") + _no_data())
    counts = _histograms(series, np.linspace(0, 1, bins + 1))
    total = np.sum([c for _, c in counts], axis=0)
    ticks = nice_ticks(max(int(total.max()), 1))
    sy = (y1 - TOP - 10) / ticks[-1]
    body = _frame(x_ticks, [(y1 - t * sy, _fmt(t)) for t in ticks], "p_blurry", "files")
    bw = (x1 - x0) / bins
    base = np.zeros(bins)
    for name, c in counts:
        for i in np.flatnonzero(c):
            y = y1 - (base[i] + c[i]) * sy
            body.append(f"<rect x='{x0 + i * bw:.1f}' y='{y:.1f}' width='{bw - 1:.1f}' height='{c[i] * sy:.1f}' "
                        f"fill='{label_color(name)}'/>")
        base += c
    return _document(WIDTH, HEIGHT, "Blur probability by verdict", body + _legend([k for k, _ in series]))


def sharpness_distribution_svg(sharpness: Mapping[str, Sequence[float] | np.ndarray],
                               bins: int | None = None) -> str:
    """Distribution of the variance-of-Laplacian score per predicted label, log-spaced bins, log x axis."""
    series = [(k, v[np.isfinite(v) & (v > 0)]) for k, v in ordered_series(sharpness)]
    series = [(k, v) for k, v in series if v.size]
    x0, x1, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM
    label = "variance of Laplacian (log scale)"
    if not series:
        return _document(WIDTH, HEIGHT, "Classical sharpness score by verdict",
                         _frame([], [], label, "files") + _no_data())
    allv = np.concatenate([v for _, v in series])
    lo, hi = float(allv.min()), float(allv.max())
    hi = hi * 1.5 if hi <= lo else hi
    bins = bins or int(np.clip(np.sqrt(allv.size), 10, 40))
    edges = np.geomspace(lo, hi, bins + 1)
    counts = _histograms(series, edges)
    ticks = nice_ticks(max(int(max(c.max() for _, c in counts)), 1))
    sy = (y1 - TOP - 10) / ticks[-1]
    lx = np.log10(edges)

    def px(value: float) -> float:
        return x0 + (math.log10(value) - lx[0]) / max(lx[-1] - lx[0], 1e-12) * (x1 - x0)

    decades = range(math.floor(lx[0]), math.ceil(lx[-1]) + 1)
    ticks_x = [10.0 ** d for d in decades if lo <= 10.0 ** d <= hi]
    if len(ticks_x) < 3:  # a narrow range: 1-2-5 steps instead of decades only
        ticks_x = [m * 10.0 ** d for d in decades for m in (1, 2, 5) if lo <= m * 10.0 ** d <= hi]
    x_ticks = [(px(v), _fmt(v)) for v in ticks_x]
    body = _frame(x_ticks, [(y1 - t * sy, _fmt(t)) for t in ticks], label, "files")
    for name, c in counts:
        xs = [px(e) for e in edges]
        points = [f"{xs[0]:.1f},{y1}"]
        for i, n in enumerate(c):
            y = y1 - n * sy
            points += [f"{xs[i]:.1f},{y:.1f}", f"{xs[i + 1]:.1f},{y:.1f}"]
        points.append(f"{xs[-1]:.1f},{y1}")
        color = label_color(name)
        body.append(f"<polygon points='{' '.join(points)}' fill='{color}' fill-opacity='0.25' stroke='{color}' "
                    "stroke-width='1.6'/>")
    return _document(WIDTH, HEIGHT, "Classical sharpness score by verdict", body + _legend([k for k, _ in series]))
