"""Every degradation range in one place.

Strengths are in pixels *at analysis scale* (long side <= 1024 px, after the source
has been shrunk by ``source_scale`` to make it crisp). Blur starts where people
already call a photo blurry (mild defocus from r=1.2 px, short shake from 3 px,
Gaussian from sigma=0.9 px); "original" gets at most mild in-camera sharpening
(amount <= 0.4) and "sharp" starts at amount 0.9, so the ambiguous band between
is left out of training rather than labelled wrongly. Half of the blurry samples get
the camera's own sharpening too (amount <= 0.6): sharpening never makes a blurry shot sharp.
"""
from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class DegradationRanges:
    """Sampling ranges of the dataset builder (log-uniform for blur strengths)."""

    source_scale: Range = (0.5, 0.75)  # shrink sources first: originals must be crisp
    min_source_side: int = 96  # sources shorter than this (CIFAR) are not shrunk
    gaussian_sigma: Range = (0.9, 4.0)
    defocus_radius: Range = (1.2, 8.0)
    defocus_blades: tuple[int, ...] = (0, 0, 0, 5, 6, 8)  # 0 = round aperture
    shake_length: Range = (3.0, 25.0)
    shake_anxiety: Range = (0.0, 0.6)  # 0 = nearly straight, higher = curvier trajectory
    usm_radius: Range = (0.8, 3.0)
    usm_amount: Range = (0.9, 3.0)
    boost_amount: Range = (0.6, 2.0)  # high-boost: img - a * laplacian
    camera_sharpen_amount: Range = (0.1, 0.4)  # mild in-camera sharpening, still "original"
    camera_sharpen_radius: Range = (0.6, 1.2)
    p_blurry_sharpened: float = 0.5  # cameras sharpen every JPEG, in focus or not
    blurry_sharpen_amount: Range = (0.1, 0.6)
    partial_sharp_fraction: Range = (0.2, 0.5)  # area kept sharp in a bokeh-like partial blur
    partial_blur_radius: Range = (4.0, 12.0)
    exposure_gain: Range = (0.7, 1.3)
    gamma: Range = (0.8, 1.25)
    gaussian_noise_sigma: Range = (0.5, 5.0)
    poisson_peak: Range = (400.0, 4000.0)  # photons at white; lower = noisier
    resample_factor: Range = (0.8, 1.0)
    jpeg_quality: tuple[int, int] = (50, 100)
    p_exposure: float = 0.5
    p_noise: float = 0.5
    p_resample: float = 0.3
    p_jpeg: float = 0.8


RANGES = DegradationRanges()
