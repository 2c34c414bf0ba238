"""Sample recipes: which degradation makes each variant, with every parameter recorded.

Every variant goes through the same camera chain (``dataset.camera``): scene light, the variant's
optics in linear light, exposure and sensor noise, tone curve, then the variant's 8-bit editing and
the same editing nuisances (web resampling, mild output sharpening, overlays). Only the optics
and the editing step differ by class. Each function takes an explicit generator and returns the
degraded image plus a dict of the parameters used (they become manifest columns).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from iqa.auditor.imaging import rescale
from iqa.auditor.labels import BLURRY, ORIGINAL, SHARP
from iqa.dataset import camera, degrade
from iqa.dataset.ranges import RANGES, DegradationRanges, Range

Params = dict[str, Any]
# optics: (linear image, rng, ranges, stretch) -> (linear image, params); stretch = 1 / later resample factor
Optics = Callable[[np.ndarray, np.random.Generator, DegradationRanges, float], tuple[np.ndarray, Params]]
Edit = Callable[[np.ndarray, np.random.Generator, DegradationRanges], tuple[np.ndarray, Params]]


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(*r))


def log_uniform(rng: np.random.Generator, r: Range) -> float:
    return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))


def in_focus(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, stretch: float) -> tuple[np.ndarray, Params]:
    return lin, {}


def partial(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, stretch: float) -> tuple[np.ndarray, Params]:
    frac, radius = uniform(rng, rg.partial_sharp_fraction), uniform(rng, rg.partial_blur_radius)
    return degrade.partial_blur(lin, rng, frac, radius * stretch), {"partial_fraction": frac, "defocus_radius": radius}


def gaussian(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, stretch: float) -> tuple[np.ndarray, Params]:
    sigma = log_uniform(rng, rg.gaussian_sigma)
    return degrade.gaussian_blur(lin, sigma * stretch), {"gaussian_sigma": sigma}


def defocus(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, stretch: float) -> tuple[np.ndarray, Params]:
    radius = log_uniform(rng, rg.defocus_radius)
    blades = int(rng.choice(rg.defocus_blades))
    rotation = uniform(rng, (0.0, np.pi))
    return degrade.defocus_blur(lin, radius * stretch, blades, rotation), {"defocus_radius": radius, "blades": blades}


def shake(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, stretch: float) -> tuple[np.ndarray, Params]:
    length = log_uniform(rng, rg.shake_length)
    straight = rng.uniform() < rg.p_straight_shake
    anxiety = uniform(rng, rg.straight_shake_anxiety if straight else rg.shake_anxiety)
    # no draw at all when off, so builds with p_uneven_shake = 0 stay byte-identical to earlier ones
    uneven = rg.p_uneven_shake > 0 and rng.uniform() < rg.p_uneven_shake
    dwell = uniform(rng, rg.shake_dwell) if uneven else 0.0
    kernel = degrade.shake_kernel(rng, length * stretch, anxiety, dwell)
    return degrade.motion_blur(lin, kernel), {"shake_length": length, "shake_anxiety": anxiety, "shake_dwell": dwell}


def camera_sharpened(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    radius, amount = uniform(rng, rg.camera_sharpen_radius), uniform(rng, rg.camera_sharpen_amount)
    return degrade.oversharpen(img, radius, amount), {"usm_radius": radius, "usm_amount": amount}


def in_camera_sharpening(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    """The camera's own sharpening after the optics blurred the shot: the photo stays blurry."""
    radius, amount = uniform(rng, rg.camera_sharpen_radius), uniform(rng, rg.blurry_sharpen_amount)
    return degrade.oversharpen(img, radius, amount), {"camera_radius": radius, "camera_amount": amount}


def unsharp(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    radius, amount = uniform(rng, rg.usm_radius), uniform(rng, rg.usm_amount)
    return degrade.oversharpen(img, radius, amount), {"usm_radius": radius, "usm_amount": amount}


def boost(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    amount = uniform(rng, rg.boost_amount)
    return degrade.high_boost(img, amount), {"boost_amount": amount}


# variant name -> (label, optics in linear light, 8-bit editing or None); "partial" is bokeh-like: original
VARIANTS: dict[str, tuple[str, Optics, Edit | None]] = {
    "original": (ORIGINAL, in_focus, None),
    "camera": (ORIGINAL, in_focus, camera_sharpened),
    "partial": (ORIGINAL, partial, None),
    "gaussian": (BLURRY, gaussian, None),
    "defocus": (BLURRY, defocus, None),
    "shake": (BLURRY, shake, None),
    "unsharp": (SHARP, in_focus, unsharp),
    "boost": (SHARP, in_focus, boost),
    "native": (ORIGINAL, in_focus, None),
}
# Variants rendered from the source at analysis scale, *not* shrunk by ``crisp_source``: a real photo
# as the auditor sees it, with its own lens and demosaicing softness (or an SR benchmark's crispness),
# labelled original, so that untouched real photos are neither blurry nor over-sharpened.
UNSHRUNK_VARIANTS = frozenset({"native"})


def scene_light(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges,
                night_allowed: bool = True) -> tuple[np.ndarray, Params]:
    """Give the scene light above clip: a night rendition with lamps, or daytime highlights.

    Over-sharpened samples get no night rendition: a halo around a clipped lamp on black is clipped
    away too, so such a sample would teach "crisp lamps at night = over-sharpened", the false
    "sharp" call night photos must not get.
    """
    night = rng.uniform() < rg.p_night
    if night and night_allowed:
        darkness, window = uniform(rng, rg.night_darkness), log_uniform(rng, rg.night_window_gain)
        lin = camera.boost_highlights(lin, window, uniform(rng, rg.highlight_knee)) * darkness
        count = max(3, round(log_uniform(rng, rg.night_lights_per_mp) * lin.shape[0] * lin.shape[1] / 1e6))
        lin = camera.add_point_lights(lin, rng, count, rg.light_intensity, rg.light_radius)
        return lin, {"night": darkness, "lights": count}
    params: Params = {}
    if rng.uniform() < rg.p_highlights:
        gain = log_uniform(rng, rg.highlight_gain)
        lin = camera.boost_highlights(lin, gain, uniform(rng, rg.highlight_knee))
        params["highlight_gain"] = gain
    if rng.uniform() < rg.p_day_lights:
        count = int(rng.integers(rg.day_lights[0], rg.day_lights[1] + 1))
        lin = camera.add_point_lights(lin, rng, count, rg.light_intensity, rg.light_radius)
        params["lights"] = count
    return lin, params


def sensor(lin: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, night: bool) -> tuple[np.ndarray, Params]:
    """Exposure, shot and read noise, clip and tone curve: linear light in, 8-bit sRGB out."""
    params: Params = {}
    if rng.uniform() < rg.p_exposure:
        params["gain"] = uniform(rng, rg.exposure_gain)
        lin = lin * params["gain"]
    if rng.uniform() < rg.p_noise:
        photons = log_uniform(rng, rg.night_photons_at_clip if night else rg.photons_at_clip)
        lin = camera.sensor_noise(lin, rng, photons, log_uniform(rng, rg.read_noise))
        params.update(noise="sensor", noise_level=photons)
    contrast = uniform(rng, rg.tone_contrast)
    params["contrast"] = contrast
    return camera.tone_curve(lin, contrast), params


def _resample_plan(shape: tuple[int, ...], rng: np.random.Generator, rg: DegradationRanges) -> tuple[float, str]:
    """Web resize factor and kind for this sample (factor 1.0: none), drawn before the optics."""
    if rng.uniform() >= rg.p_resample:
        return 1.0, ""
    low = max(rg.resample_factor[0], rg.min_resampled_side / max(1, min(shape[:2])))
    factor, kind = uniform(rng, (min(low, rg.resample_factor[1]), rg.resample_factor[1])), str(rng.choice(rg.resample_kinds))
    return (factor, kind) if low <= rg.resample_factor[1] else (1.0, "")  # too small to shrink further


def editing_nuisances(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges, factor: float, kind: str,
                      sharpen_after: Edit | None = None) -> tuple[np.ndarray, Params]:
    """Web resampling, then (for over-sharpened samples) their sharpening, mild output sharpening, overlays."""
    params: Params = {}
    if factor < 1.0:
        img = camera.resample_by(img, factor, kind)
        params.update(resample=factor, resample_kind=kind)
    if sharpen_after is not None:  # over-sharpening is judged at the size it is published
        img, extra = sharpen_after(img, rng, rg)
        params.update(extra)
    elif rng.uniform() < rg.p_web_sharpen:
        radius, amount = uniform(rng, rg.web_sharpen_radius), uniform(rng, rg.web_sharpen_amount)
        img = degrade.oversharpen(img, radius, amount)
        params["web_sharpen"] = amount
    if rng.uniform() < rg.p_overlay:
        height = uniform(rng, rg.overlay_height)
        img = camera.overlay(img, rng, height, uniform(rng, rg.overlay_opacity))
        params["overlay"] = height
    return img, params


def crisp_source(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges = RANGES) -> tuple[np.ndarray, float]:
    """Shrink a source photo so that what we call original is really crisp."""
    if min(img.shape[:2]) < rg.min_source_side:
        return img, 1.0
    factor = uniform(rng, rg.source_scale)
    return rescale(img, factor), factor


def make_variant(source: np.ndarray, variant: str, rng: np.random.Generator,
                 rg: DegradationRanges = RANGES) -> tuple[np.ndarray, str, Params]:
    """Render a crisp sRGB source as ``variant`` through the camera chain; returns (image, label, parameters)."""
    label, optics, edit = VARIANTS[variant]
    factor, kind = _resample_plan(source.shape, rng, rg)
    lin, params = scene_light(camera.srgb_to_linear(source), rng, rg, night_allowed=label != SHARP)
    lin, extra = optics(lin, rng, rg, 1.0 / factor)
    params.update(extra)
    img, extra = sensor(lin, rng, rg, night="night" in params)
    params.update(extra)
    if edit is not None and label != SHARP:  # in-camera sharpening happens before any web resize
        img, extra = edit(img, rng, rg)
        params.update(extra)
    if label == BLURRY and rng.uniform() < rg.p_blurry_sharpened:
        img, extra = in_camera_sharpening(img, rng, rg)
        params.update(extra)
    img, extra = editing_nuisances(img, rng, rg, factor, kind, edit if label == SHARP else None)
    params.update(extra)
    if rng.uniform() < rg.p_jpeg:
        params["jpeg_quality"] = int(rng.integers(rg.jpeg_quality[0], rg.jpeg_quality[1] + 1))
    return img, label, params
