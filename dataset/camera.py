"""A small camera model: the scene in linear light, the sensor, the tone curve, the editing after.

Blur happens to light, not to 8-bit pixels: a street lamp many times brighter than the sensor's
clip level, shaken across 30 px, still clips into a thin, saturated, crisp-edged streak. Blurring
an already clipped sRGB photo instead spreads a grey smudge that no camera makes. So every sample,
whatever its class, goes through the same chain:

    sRGB source -> linear light -> scene highlights above clip (boosted highlights, point lights,
    darker "night" renditions) -> optics (the class's blur, in linear light) -> exposure -> sensor
    noise (shot + read) -> clip -> tone curve -> 8-bit

and then through the same editing nuisances: resampling (area, bilinear, bicubic, Lanczos), mild web
sharpening and sharp overlays (captions, logos, watermarks) composited after the blur.
Every function is pure: random choices come from an explicit ``np.random.Generator``.
"""
from __future__ import annotations

import cv2
import numpy as np

from iqa.dataset import degrade

CLIP = 1.0  # linear-light value at which the sensor saturates


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    """Inverse sRGB transfer: uint8 sRGB -> float32 linear light in [0, 1]."""
    x = img.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    """sRGB transfer with clipping at the sensor's saturation: float linear -> uint8 sRGB."""
    x = np.clip(lin, 0.0, CLIP) / CLIP
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)


def luminance(lin: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of a linear RGB image, shape (H, W)."""
    return lin @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def boost_highlights(lin: np.ndarray, gain: float, knee: float) -> np.ndarray:
    """Push the brightest regions above clip: sky, lamps and reflections are brighter than 8-bit says.

    Pixels whose luminance exceeds ``knee`` are multiplied by up to ``gain`` (a smooth ramp), so a
    blur that crosses them later spreads light that still saturates the sensor.
    """
    y = luminance(lin)
    ramp = np.clip((y - knee) / max(1.0 - knee, 1e-6), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep: no new edge at the knee
    return lin * (1.0 + (gain - 1.0) * ramp)[..., None]


def add_point_lights(lin: np.ndarray, rng: np.random.Generator, count: int, intensity: tuple[float, float],
                     radius: tuple[float, float]) -> np.ndarray:
    """Add ``count`` small light sources (Gaussian spots, random warm-to-cool colour) to a linear image.

    ``intensity`` is the peak in multiples of the clip level (drawn log-uniformly), ``radius`` the
    spot's standard deviation in pixels.
    """
    h, w = lin.shape[:2]
    out = lin.copy()
    lo, hi = np.log(intensity[0]), np.log(intensity[1])
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sigma = rng.uniform(*radius)
        peak = float(np.exp(rng.uniform(lo, hi))) * CLIP
        warmth = rng.uniform(-0.3, 0.5)  # sodium lamps are orange, LEDs bluish
        colour = np.array([1.0 + warmth, 1.0, 1.0 - warmth * 0.8], np.float32).clip(0.2)
        half = int(np.ceil(4 * sigma)) + 1
        y0, y1, x0, x1 = max(0, int(cy) - half), min(h, int(cy) + half + 1), max(0, int(cx) - half), min(w, int(cx) + half + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        spot = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma)).astype(np.float32)
        out[y0:y1, x0:x1] += peak * spot[..., None] * colour
    return out


def sensor_noise(lin: np.ndarray, rng: np.random.Generator, photons_at_clip: float, read_noise: float) -> np.ndarray:
    """Signal-dependent noise: Poisson shot noise (``photons_at_clip`` electrons at clip) plus Gaussian read noise.

    Dark, amplified (high-ISO) shots have few photons per clip level and are noisy; light above clip
    stays above clip, so it still saturates.
    """
    electrons = rng.poisson(np.clip(lin, 0, None).astype(np.float64) * photons_at_clip)
    read = rng.normal(0.0, read_noise, lin.shape)
    return (electrons / photons_at_clip + read).astype(np.float32)


def tone_curve(lin: np.ndarray, contrast: float) -> np.ndarray:
    """Clip, then the sRGB curve with a mild S-shaped contrast (``contrast`` 0 = plain sRGB) -> uint8."""
    srgb = linear_to_srgb(lin).astype(np.float32) / 255.0
    if contrast:
        s = srgb + contrast * srgb * (1 - srgb) * (2 * srgb - 1)  # keeps 0 and 1, steepens midtones
        srgb = np.clip(s, 0, 1)
    return np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.uint8)


FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_PLAIN)
_GLYPHS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ©@#&.-"


def overlay(img: np.ndarray, rng: np.random.Generator, height_fraction: float, opacity: float) -> np.ndarray:
    """Composite crisp text (a caption or watermark) and sometimes a flat logo onto an 8-bit image.

    Overlays are added after any blur, as editors add them: their edges are sharp whatever the photo.
    ``height_fraction`` is the text height relative to the image height, ``opacity`` its alpha.
    """
    h, w = img.shape[:2]
    layer = np.zeros_like(img)
    alpha = np.zeros((h, w), np.uint8)  # 8-bit: OpenCV anti-aliases text only there
    font = FONTS[int(rng.integers(len(FONTS)))]
    text = "".join(rng.choice(list(_GLYPHS), size=int(rng.integers(6, 24))))
    scale = max(0.3, height_fraction * h / 22.0)
    thickness = int(rng.integers(1, 3 + int(scale)))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    x = int(rng.uniform(0, max(1, w - tw)))
    y = int(rng.uniform(th + 1, max(th + 2, h - 2)))
    colour = tuple(int(c) for c in (rng.choice([0, 255, 230], size=3) if rng.uniform() < 0.8 else rng.integers(0, 256, 3)))
    if rng.uniform() < 0.4:  # dark outline or drop shadow, as captions have
        cv2.putText(layer, text, (x + 1, y + 1), font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(alpha, text, (x + 1, y + 1), font, scale, 255, thickness + 2, cv2.LINE_AA)
    cv2.putText(layer, text, (x, y), font, scale, colour, thickness, cv2.LINE_AA)
    cv2.putText(alpha, text, (x, y), font, scale, 255, thickness, cv2.LINE_AA)
    if rng.uniform() < 0.3:  # a flat logo: a filled shape with hard edges
        r = int(max(3, rng.uniform(0.03, 0.1) * min(h, w)))
        cx, cy = int(rng.uniform(r, max(r + 1, w - r))), int(rng.uniform(r, max(r + 1, h - r)))
        shape_colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(layer, (cx, cy), r, shape_colour, -1, cv2.LINE_AA)
        cv2.circle(alpha, (cx, cy), r, 255, -1, cv2.LINE_AA)
    a = (alpha.astype(np.float32) / 255.0 * opacity)[..., None]
    return np.clip(np.rint(img * (1 - a) + layer * a), 0, 255).astype(np.uint8)


RESAMPLERS = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
              "lanczos": cv2.INTER_LANCZOS4}


def resample_by(img: np.ndarray, factor: float, kind: str) -> np.ndarray:
    """Web-style downscale by ``factor`` with one of :data:`RESAMPLERS` (bicubic and Lanczos add acuity)."""
    return degrade.resample(img, factor, RESAMPLERS[kind])
