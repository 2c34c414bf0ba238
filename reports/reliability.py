"""Reliability diagram of image-level confidence: is "p = 0.9" right nine times in ten?"""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Bin = tuple[float, float, int]  # (mean confidence, accuracy, images) of one confidence bin


def reliability_png(bins: Sequence[Bin], ece: float, title: str = "Reliability of the verdict") -> bytes:
    """Accuracy against mean confidence per bin (bar width ~ images), with the diagonal and the ECE."""
    import io

    fig = Figure(figsize=(4.8, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="#888", linestyle="--", linewidth=1, label="perfectly calibrated")
    if bins:
        total = max(sum(n for _, _, n in bins), 1)
        conf, acc, count = zip(*bins)
        ax.scatter(conf, acc, s=[30 + 400 * n / total for n in count], color="#2b6cb0", alpha=0.8, label="images")
        ax.plot(conf, acc, color="#2b6cb0", linewidth=1)
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="confidence of the verdict", ylabel="share correct",
           title=f"{title} (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
