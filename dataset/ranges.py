"""Every degradation range in one place.

Strengths are in pixels *at analysis scale* (long side <= 1024 px, after the source has been
shrunk by ``source_scale`` to make it crisp, and after any web resampling: a sample that is later
downscaled by ``f`` is blurred by ``strength / f`` first, so the blur the model sees stays in range).
Blur starts where people already call a photo blurry (mild defocus from r=1.2 px, short shake from
3 px, Gaussian from sigma=0.9 px); "original" gets at most mild in-camera or web sharpening
(amount <= 0.4) and "sharp" starts at amount 0.9, so the ambiguous band between is left out of
training rather than labelled wrongly. Half of the blurry samples get the camera's own sharpening
too (amount <= 0.6): sharpening never makes a blurry shot sharp.
Light levels are in multiples of the sensor's clip level (see ``dataset.camera``).
"""
from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class DegradationRanges:
    """Sampling ranges of the dataset builder (log-uniform for blur strengths)."""

    source_scale: Range = (0.5, 0.75)  # shrink sources first: originals must be crisp
    min_source_side: int = 96  # sources shorter than this (CIFAR) are not shrunk
    # optics, in linear light
    gaussian_sigma: Range = (0.9, 4.0)
    defocus_radius: Range = (1.2, 8.0)
    defocus_blades: tuple[int, ...] = (0, 0, 0, 5, 6, 8)  # 0 = round aperture
    shake_length: Range = (3.0, 48.0)
    p_straight_shake: float = 0.4  # near-linear motion: edges along it stay crisp, the hard case
    straight_shake_anxiety: Range = (0.0, 0.05)
    shake_anxiety: Range = (0.05, 0.6)  # 0 = straight, higher = curvier trajectory
    # the hand lingers along the path (ghosted, partly crisp copies); 0.5 was tried (runs/d3, README), not shipped
    p_uneven_shake: float = 0.0
    shake_dwell: Range = (0.5, 1.5)  # std of the log dwell time along the trajectory (0 = constant speed)
    partial_sharp_fraction: Range = (0.2, 0.5)  # area kept sharp in a bokeh-like partial blur
    partial_blur_radius: Range = (4.0, 12.0)
    # scene light: highlights above clip, point lights, night renditions
    p_night: float = 0.3  # never for over-sharpened samples (see recipes.scene_light)
    night_darkness: Range = (0.05, 0.35)  # linear-light scale of the whole scene
    night_window_gain: Range = (3.0, 20.0)  # bright source regions (windows, signs) become clipped lights
    night_lights_per_mp: Range = (60.0, 400.0)  # point lights per megapixel
    light_intensity: Range = (2.0, 50.0)  # peak, multiples of clip
    light_radius: Range = (0.4, 2.5)  # spot standard deviation, px
    p_highlights: float = 0.5  # daytime: sky, reflections and lamps above clip
    highlight_gain: Range = (1.5, 8.0)
    highlight_knee: Range = (0.55, 0.9)
    p_day_lights: float = 0.1
    day_lights: tuple[int, int] = (1, 8)
    # sensor and tone curve
    p_exposure: float = 0.5
    exposure_gain: Range = (0.6, 1.8)  # > 1 clips more highlights
    p_noise: float = 0.7
    photons_at_clip: Range = (800.0, 20000.0)  # electrons at clip; fewer = noisier
    night_photons_at_clip: Range = (200.0, 3000.0)  # night: amplified, noisier
    read_noise: Range = (0.0005, 0.004)  # clip units
    tone_contrast: Range = (-0.2, 0.5)
    # editing in 8-bit
    usm_radius: Range = (0.8, 3.0)
    usm_amount: Range = (0.9, 3.0)
    boost_amount: Range = (0.6, 2.0)  # high-boost: img - a * laplacian
    camera_sharpen_amount: Range = (0.1, 0.4)  # mild in-camera sharpening, still "original"
    camera_sharpen_radius: Range = (0.6, 1.2)
    p_blurry_sharpened: float = 0.5  # cameras sharpen every JPEG, in focus or not
    blurry_sharpen_amount: Range = (0.1, 0.6)
    p_resample: float = 0.4  # web resizing after the camera, every class alike
    resample_factor: Range = (0.4, 1.0)
    resample_kinds: tuple[str, ...] = ("area", "bilinear", "bicubic", "lanczos")
    min_resampled_side: int = 144  # never shrink a sample below this short side
    p_web_sharpen: float = 0.3  # mild output sharpening after resizing (still original / still blurry)
    web_sharpen_amount: Range = (0.15, 0.4)
    web_sharpen_radius: Range = (0.5, 1.0)
    p_overlay: float = 0.12  # captions, logos, watermarks composited after the blur (label unchanged)
    overlay_height: Range = (0.04, 0.15)  # text height / image height
    overlay_opacity: Range = (0.35, 1.0)
    jpeg_quality: tuple[int, int] = (50, 100)
    p_jpeg: float = 0.8


RANGES = DegradationRanges()
