"""Sample recipes: which degradation makes each variant, with every parameter recorded.

Each function takes an image and an explicit generator and returns the degraded
image plus a dict of the parameters used (they become manifest columns).
"""
from __future__ import annotations

from typing import Any, Callable

import cv2
import numpy as np

from iqa.auditor.imaging import rescale
from iqa.auditor.labels import BLURRY, ORIGINAL, SHARP
from iqa.dataset import degrade
from iqa.dataset.ranges import RANGES, DegradationRanges, Range

Params = dict[str, Any]
Recipe = Callable[[np.ndarray, np.random.Generator, DegradationRanges], tuple[np.ndarray, Params]]


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(*r))


def log_uniform(rng: np.random.Generator, r: Range) -> float:
    return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))


def plain(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    return img, {}


def camera_sharpened(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    radius, amount = uniform(rng, rg.camera_sharpen_radius), uniform(rng, rg.camera_sharpen_amount)
    return degrade.oversharpen(img, radius, amount), {"usm_radius": radius, "usm_amount": amount}


def in_camera_sharpening(img: np.ndarray, rng: np.random.Generator,
                         rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    """The camera's own sharpening after the optics blurred the shot: the photo stays blurry."""
    radius, amount = uniform(rng, rg.camera_sharpen_radius), uniform(rng, rg.blurry_sharpen_amount)
    return degrade.oversharpen(img, radius, amount), {"camera_radius": radius, "camera_amount": amount}


def partial(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    frac, radius = uniform(rng, rg.partial_sharp_fraction), uniform(rng, rg.partial_blur_radius)
    return degrade.partial_blur(img, rng, frac, radius), {"partial_fraction": frac, "defocus_radius": radius}


def gaussian(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    sigma = log_uniform(rng, rg.gaussian_sigma)
    return degrade.gaussian_blur(img, sigma), {"gaussian_sigma": sigma}


def defocus(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    radius = log_uniform(rng, rg.defocus_radius)
    blades = int(rng.choice(rg.defocus_blades))
    rotation = uniform(rng, (0.0, np.pi))
    return degrade.defocus_blur(img, radius, blades, rotation), {"defocus_radius": radius, "blades": blades}


def shake(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    length, anxiety = log_uniform(rng, rg.shake_length), uniform(rng, rg.shake_anxiety)
    kernel = degrade.shake_kernel(rng, length, anxiety)
    return degrade.motion_blur(img, kernel), {"shake_length": length, "shake_anxiety": anxiety}


def unsharp(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    radius, amount = uniform(rng, rg.usm_radius), uniform(rng, rg.usm_amount)
    return degrade.oversharpen(img, radius, amount), {"usm_radius": radius, "usm_amount": amount}


def boost(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges) -> tuple[np.ndarray, Params]:
    amount = uniform(rng, rg.boost_amount)
    return degrade.high_boost(img, amount), {"boost_amount": amount}


# variant name -> (label, recipe); "partial" is bokeh-like and therefore original
VARIANTS: dict[str, tuple[str, Recipe]] = {
    "original": (ORIGINAL, plain),
    "camera": (ORIGINAL, camera_sharpened),
    "partial": (ORIGINAL, partial),
    "gaussian": (BLURRY, gaussian),
    "defocus": (BLURRY, defocus),
    "shake": (BLURRY, shake),
    "unsharp": (SHARP, unsharp),
    "boost": (SHARP, boost),
}

_RESAMPLE = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def nuisances(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges = RANGES) -> tuple[np.ndarray, Params]:
    """Exposure, noise and resampling, applied to every class alike (JPEG comes at write time)."""
    params: Params = {}
    if rng.uniform() < rg.p_exposure:
        gain, gamma = uniform(rng, rg.exposure_gain), uniform(rng, rg.gamma)
        img = degrade.adjust_exposure(img, gain, gamma)
        params.update(gain=gain, gamma=gamma)
    if rng.uniform() < rg.p_noise:
        if rng.uniform() < 0.5:
            sigma = uniform(rng, rg.gaussian_noise_sigma)
            img = degrade.gaussian_noise(img, rng, sigma)
            params.update(noise="gaussian", noise_level=sigma)
        else:
            peak = log_uniform(rng, rg.poisson_peak)
            img = degrade.poisson_noise(img, rng, peak)
            params.update(noise="poisson", noise_level=peak)
    if rng.uniform() < rg.p_resample:
        factor = uniform(rng, rg.resample_factor)
        name = str(rng.choice(sorted(_RESAMPLE)))
        img = degrade.resample(img, factor, _RESAMPLE[name])
        params.update(resample=factor, resample_kind=name)
    return img, params


def crisp_source(img: np.ndarray, rng: np.random.Generator, rg: DegradationRanges = RANGES) -> tuple[np.ndarray, float]:
    """Shrink a source photo so that what we call original is really crisp."""
    if min(img.shape[:2]) < rg.min_source_side:
        return img, 1.0
    factor = uniform(rng, rg.source_scale)
    return rescale(img, factor), factor


def make_variant(source: np.ndarray, variant: str, rng: np.random.Generator,
                 rg: DegradationRanges = RANGES) -> tuple[np.ndarray, str, Params]:
    """Degrade a crisp source into ``variant``; returns (image, label, parameters)."""
    label, recipe = VARIANTS[variant]
    img, params = recipe(source, rng, rg)
    if label == BLURRY and rng.uniform() < rg.p_blurry_sharpened:
        img, extra = in_camera_sharpening(img, rng, rg)
        params.update(extra)
    img, extra = nuisances(img, rng, rg)
    params.update(extra)
    if rng.uniform() < rg.p_jpeg:
        params["jpeg_quality"] = int(rng.integers(rg.jpeg_quality[0], rg.jpeg_quality[1] + 1))
    return img, label, params
