"""Classical, model-free sharpness measures (reported for transparency, and the baseline)."""
from __future__ import annotations

import cv2
import numpy as np

from auditor.imaging import to_gray


def laplacian_variance(pixels: np.ndarray) -> float:
    """Variance of the Laplacian of the luminance: the usual "blur score" (higher = sharper).

    Parameters
    ----------
    pixels : (H, W, 3) uint8 RGB or (H, W) grey image, at analysis scale.
    """
    lap = cv2.Laplacian(to_gray(pixels), cv2.CV_32F, ksize=1)
    return float(lap.var())
