"""Matplotlib figures shared by the audit and training reports.

Every function is pure: it takes plain arrays and returns PNG bytes. Figures are
built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas, never
through ``pyplot``, so nothing touches the global backend, no window can open and
no figure stays registered after the call (each one is cleared once rendered).
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from iqa.auditor.labels import LABELS

LABEL_COLORS: dict[str, str] = {"blurry": "#d1495b", "original": "#2e86ab", "sharp": "#8e5cc4"}
ERROR_COLOR = "#8a8f98"
OTHER_COLOR = "#5f6b7a"
_TEXT = "#1f2933"
_GRID = "#e4e7eb"
DPI = 110


def label_color(label: str) -> str:
    """Hex colour of ``label``, consistent across plots, badges and galleries."""
    return LABEL_COLORS.get(label, OTHER_COLOR)


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes:
        ax.set_facecolor("white")
        ax.grid(True, color=_GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(colors=_TEXT, labelsize=9)
    return fig, axes


def _render(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    fig.clear()
    return buf.getvalue()


def _no_data(ax: Axes, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color=ERROR_COLOR, transform=ax.transAxes)


def _ordered(series: Mapping[str, Sequence[float] | np.ndarray]) -> list[tuple[str, np.ndarray]]:
    keys = [k for k in LABELS if k in series] + sorted(k for k in series if k not in LABELS)
    return [(k, np.asarray(series[k], dtype=np.float64)) for k in keys]


def label_counts_png(counts: Mapping[str, int], errors: int = 0) -> bytes:
    """Horizontal bar chart of files per label (plus unreadable files).

    Parameters
    ----------
    counts : number of files per label; labels of ``LABELS`` are always shown.
    errors : number of unreadable files, drawn as a grey bar when non-zero.

    Returns
    -------
    bytes
        The PNG image.
    """
    names = list(LABELS) + sorted(k for k in counts if k not in LABELS)
    values = [int(counts.get(k, 0)) for k in names]
    colors = [label_color(k) for k in names]
    if errors:
        names, values, colors = names + ["unreadable"], values + [int(errors)], colors + [ERROR_COLOR]
    fig, (ax,) = _figure(5.2, 0.55 * len(names) + 1.0)
    ypos = np.arange(len(names))[::-1]
    ax.barh(ypos, values, color=colors, height=0.62)
    ax.set_yticks(ypos, names)
    ax.grid(False, axis="y")
    peak = max(values + [1])
    for y, v in zip(ypos, values):
        ax.text(v + peak * 0.01, y, f"{v:,}", va="center", fontsize=9, color=_TEXT)
    ax.set_xlim(0, peak * 1.15)
    ax.set_xlabel("files", color=_TEXT)
    ax.set_title("Files per verdict", color=_TEXT, fontsize=11, loc="left")
    return _render(fig)


def probability_histogram_png(p_blurry: Mapping[str, Sequence[float] | np.ndarray], bins: int = 20) -> bytes:
    """Stacked histogram of the blur probability, one colour per predicted label.

    Parameters
    ----------
    p_blurry : per predicted label, the ``p_blurry`` of its files.
    bins : number of equal bins over [0, 1].

    Returns
    -------
    bytes
        The PNG image.
    """
    fig, (ax,) = _figure(5.6, 3.4)
    series = [(k, v[np.isfinite(v)]) for k, v in _ordered(p_blurry)]
    series = [(k, v) for k, v in series if v.size]
    if series:
        ax.hist([v for _, v in series], bins=np.linspace(0, 1, bins + 1), stacked=True,
                color=[label_color(k) for k, _ in series], label=[k for k, _ in series],
                edgecolor="white", linewidth=0.5)
        ax.legend(frameon=False, fontsize=9)
    else:
        _no_data(ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("p_blurry", color=_TEXT)
    ax.set_ylabel("files", color=_TEXT)
    ax.set_title("Blur probability by verdict", color=_TEXT, fontsize=11, loc="left")
    return _render(fig)


def sharpness_distribution_png(sharpness: Mapping[str, Sequence[float] | np.ndarray], bins: int | None = None) -> bytes:
    """Distribution of the classical sharpness score (variance of Laplacian) per label, log x axis.

    Parameters
    ----------
    sharpness : per predicted label, the sharpness scores of its files.
    bins : number of log-spaced bins (default: from the number of files, 10 to 40).

    Returns
    -------
    bytes
        The PNG image.
    """
    fig, (ax,) = _figure(5.6, 3.4)
    series = [(k, v[np.isfinite(v) & (v > 0)]) for k, v in _ordered(sharpness)]
    series = [(k, v) for k, v in series if v.size]
    if series:
        allv = np.concatenate([v for _, v in series])
        lo, hi = float(allv.min()), float(allv.max())
        hi = hi * 1.5 if hi <= lo else hi
        bins = bins or int(np.clip(np.sqrt(allv.size), 10, 40))
        edges = np.geomspace(lo, hi, bins + 1)
        for k, v in series:
            ax.hist(v, bins=edges, histtype="stepfilled", alpha=0.25, color=label_color(k))
            ax.hist(v, bins=edges, histtype="step", linewidth=1.6, color=label_color(k), label=k)
        ax.set_xscale("log")
        ax.legend(frameon=False, fontsize=9)
    else:
        _no_data(ax)
    ax.set_xlabel("variance of Laplacian (log scale)", color=_TEXT)
    ax.set_ylabel("files", color=_TEXT)
    ax.set_title("Classical sharpness score by verdict", color=_TEXT, fontsize=11, loc="left")
    return _render(fig)


def training_curves_png(history: Mapping[str, Sequence[float]]) -> bytes:
    """Accuracy and loss per epoch (training and ``val_`` series) side by side.

    Parameters
    ----------
    history : Keras-style history, e.g. ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``.

    Returns
    -------
    bytes
        The PNG image.
    """
    fig, axes = _figure(9.0, 3.4, ncols=2)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        keys = [k for k in history if _metric_kind(k) == metric]
        for key in sorted(keys, key=lambda k: k.startswith("val_")):
            values = np.asarray(history[key], dtype=np.float64)
            epochs = np.arange(1, values.size + 1)
            ax.plot(epochs, values, marker="o", markersize=3, linewidth=1.8,
                    linestyle="--" if key.startswith("val_") else "-", label=key)
        if keys:
            ax.legend(frameon=False, fontsize=9)
        else:
            _no_data(ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch", color=_TEXT)
        ax.set_title(metric.capitalize(), color=_TEXT, fontsize=11, loc="left")
    return _render(fig)


def _metric_kind(key: str) -> str:
    base = key.removeprefix("val_").lower()
    if base.endswith("loss"):
        return "loss"
    return "accuracy" if base.endswith(("acc", "accuracy")) else ""


def confusion_matrix_png(confusion: np.ndarray, labels: Sequence[str]) -> bytes:
    """Confusion matrix (rows true, columns predicted): colour is the row share, text the count.

    Parameters
    ----------
    confusion : (n, n) counts.
    labels : class names in matrix order.

    Returns
    -------
    bytes
        The PNG image.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = cm.shape[0]
    fig, (ax,) = _figure(1.2 * n + 2.2, 1.1 * n + 1.4)
    ax.grid(False)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{int(cm[i, j]):,}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.55 else _TEXT)
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted", color=_TEXT)
    ax.set_ylabel("true", color=_TEXT)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_title("Confusion matrix", color=_TEXT, fontsize=11, loc="left")
    return _render(fig)


def image_grid_png(images: Sequence[np.ndarray], captions: Sequence[str], title: str = "", ncols: int = 8) -> bytes:
    """Grid of small images with one caption each (e.g. misclassified patches).

    Parameters
    ----------
    images : RGB uint8 (or greyscale, or float in [0, 1]) arrays.
    captions : one short text per image.
    title : figure title.
    ncols : images per row.

    Returns
    -------
    bytes
        The PNG image.
    """
    count = max(len(images), 1)
    ncols = max(1, min(ncols, count))
    nrows = -(-count // ncols)
    fig, axes = _figure(1.45 * ncols, 1.65 * nrows + 0.4, ncols=ncols, nrows=nrows)
    for ax in axes:
        ax.axis("off")
    for ax, img, caption in zip(axes, images, captions):
        ax.imshow(_as_rgb8(img), interpolation="nearest")
        ax.set_title(caption, fontsize=7, color=_TEXT)
    if not len(images):
        _no_data(axes[0], "no misclassified samples")
    if title:
        fig.suptitle(title, color=_TEXT, fontsize=11, x=0.01, ha="left")
    return _render(fig)


def _as_rgb8(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr.astype(np.float64)) * scale, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return arr[..., :3]
