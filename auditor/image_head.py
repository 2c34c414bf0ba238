"""The image-level blur head: a logistic rule over the whole frame's patch margins.

The mean of the sharpest patches alone lets a few crisp patches (a lamp's shaken streak, edges
along a straight shake, a caption) outvote a frame whose other patches all look blurry. The head
reads the *distribution* of the patches' blurry-vs-rest margins (quantiles from the sharpest to the
blurriest, their spread, the mean of the sharpest band and of all patches) and gives one blurry
margin for the image, trained at image level (``trainer.image_head``) on the validation split,
where bokeh-like partial blur is weighted up so that a sharp subject still keeps a photo not blurry.
It only replaces the blurry-vs-rest margin: original vs over-sharpened stays the band's mean.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from iqa.auditor.labels import blur_margin

QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
FEATURES = ("band_blur_margin", "band_sharp_vs_original", *(f"margin_q{int(q * 100)}" for q in QUANTILES),
            "band_sharp_vs_original_median", "band_sharp_vs_original_max", "all_blur_margin",
            "all_sharp_vs_original", "margin_std")


def head_features(patch_logits: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` of one image.

    Parameters
    ----------
    patch_logits : ndarray, shape (n, 3)
        Logits (blurry, original, sharp) of every analysed patch.
    band : ndarray, shape (k, 3)
        The band of sharpest-looking patches the plain rule averages (``auditor.model.sharpest_patches``).
    """
    margins = np.sort(blur_margin(patch_logits)).astype(np.float64)
    band_mean, all_mean = band.mean(axis=0), patch_logits.mean(axis=0)
    sharp_vs_original = np.sort(band[:, 2] - band[:, 1]).astype(np.float64)
    return np.array([
        blur_margin(band_mean), band_mean[2] - band_mean[1], *_quantiles(margins, QUANTILES),
        _quantiles(sharp_vs_original, (0.5,))[0], sharp_vs_original[-1], blur_margin(all_mean),
        all_mean[2] - all_mean[1], margins.std()], np.float64)


def _quantiles(ascending: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(ascending, qs)`` (linear) of sorted values, at a tenth of its cost per call."""
    n = len(ascending)
    return np.interp(np.asarray(qs) * (n - 1), np.arange(n), ascending)


@dataclass(frozen=True)
class BlurHead:
    """Standardised features times weights plus intercept = the image's blurry-vs-rest margin."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    features: tuple[str, ...] = FEATURES
    training: Mapping[str, Any] | None = None  # what it was fitted on (record only)

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features != FEATURES:
            raise ValueError(f"head features {self.features} differ from this version's {FEATURES}")
        if not len(self.mean) == len(self.scale) == len(self.weights) == n:
            raise ValueError(f"head needs {n} mean, scale and weight values")
        if not all(s > 0 for s in self.scale):
            raise ValueError("head scale values must be positive")

    def margin(self, patch_logits: np.ndarray, band: np.ndarray) -> float:
        """The image's blurry-vs-rest margin (log-odds of blurry, before the calibration bias)."""
        x = (head_features(patch_logits, band) - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(x @ np.asarray(self.weights) + self.intercept)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                               "weights": list(self.weights), "intercept": self.intercept}
        if self.training is not None:
            out["training"] = dict(self.training)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BlurHead:
        """Parse the ``aggregation.head`` object; raises ValueError or TypeError when it cannot be used."""
        if not isinstance(data, Mapping):
            raise TypeError("aggregation.head must be a JSON object")
        return cls(tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["scale"]),
                   tuple(float(v) for v in data["weights"]), float(data["intercept"]),
                   tuple(str(v) for v in data.get("features", FEATURES)), data.get("training"))


def with_head_margin(band_mean: np.ndarray, margin: float) -> np.ndarray:
    """``band_mean`` logits with the blurry score moved so that its margin over the rest is ``margin``."""
    out = np.array(band_mean, np.float32, copy=True)
    out[0] = out[1:].max() + margin
    return out
