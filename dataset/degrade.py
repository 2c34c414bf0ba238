"""Degradations as pure functions over RGB arrays (8-bit sRGB, or float linear light for the blurs).

Blur (Gaussian, defocus disk, camera shake along near-straight to curved trajectories),
over-sharpening (unsharp mask, high-boost), partial blur, JPEG round trips and resampling;
exposure, noise and the rest of the camera live in :mod:`dataset.camera`. Random choices take
an explicit ``np.random.Generator``; nothing here touches global state.
"""
from __future__ import annotations

import cv2
import numpy as np


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _like(source: np.ndarray, out: np.ndarray) -> np.ndarray:
    """8-bit input gives rounded, clipped 8-bit output; float input (linear light) stays float, unclipped."""
    return _to_uint8(out) if source.dtype == np.uint8 else out.astype(np.float32)


def _filter(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    out = cv2.filter2D(img.astype(np.float32), -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    return _like(img, out)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (``sigma <= 0`` returns a copy).

    Like every blur here it takes 8-bit sRGB or float linear light, and returns the same kind.
    """
    if sigma <= 0:
        return img.copy()
    return _like(img, cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101))


def disk_kernel(radius: float, blades: int = 0, rotation: float = 0.0, supersample: int = 8) -> np.ndarray:
    """Anti-aliased defocus PSF: a disk, or a regular polygon for a ``blades``-blade aperture.

    Parameters
    ----------
    radius : PSF radius in pixels (sub-pixel values are honoured by supersampling).
    blades : 0 for a round aperture, else the number of polygon sides (>= 3).
    rotation : polygon rotation in radians.
    """
    half = int(np.ceil(radius)) + 1
    n = (2 * half + 1) * supersample
    coords = (np.arange(n) + 0.5) / supersample - (half + 0.5)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    if blades >= 3:
        angle = np.arctan2(yy, xx) - rotation
        sector = 2 * np.pi / blades
        # distance to the polygon edge along each direction (apothem / cos of offset from edge normal)
        edge = radius * np.cos(np.pi / blades) / np.cos((angle % sector) - sector / 2)
        inside = np.hypot(yy, xx) <= edge
    else:
        inside = np.hypot(yy, xx) <= radius
    k = inside.astype(np.float32).reshape(2 * half + 1, supersample, 2 * half + 1, supersample).mean(axis=(1, 3))
    if k.sum() == 0:
        k[half, half] = 1.0
    return k / k.sum()


def defocus_blur(img: np.ndarray, radius: float, blades: int = 0, rotation: float = 0.0) -> np.ndarray:
    """Out-of-focus blur with a disk (or polygonal aperture) PSF of ``radius`` pixels."""
    return _filter(img, disk_kernel(radius, blades, rotation))


def shake_trajectory(rng: np.random.Generator, length: float, anxiety: float = 0.3,
                     samples: int = 512) -> np.ndarray:
    """Random camera-shake trajectory (complex positions), after Boracchi & Foi (2012).

    A particle moves with unit speed; at each step its velocity gets a Gaussian
    perturbation scaled by ``anxiety``, a pull back to the start (centripetal term) and,
    rarely, an impulsive jerk. The path is rescaled so its largest extent is ``length`` px.
    """
    step = 1.0 / samples
    pos = np.zeros(samples, np.complex128)
    angle = rng.uniform(0, 2 * np.pi)
    v = np.exp(1j * angle)
    centripetal = 0.7 * rng.uniform()
    jerk_p = 0.2 * anxiety
    for t in range(1, samples):
        jerk = 0.0
        if rng.uniform() < jerk_p * step * 50:
            jerk = 2 * v * np.exp(1j * rng.uniform(-0.5, 0.5) * np.pi)
        noise = rng.normal() + 1j * rng.normal()
        dv = jerk + anxiety * (noise * 8 - centripetal * pos[t - 1] * 4)
        v = v + dv * step * 20
        v = v / max(abs(v), 1e-9)
        pos[t] = pos[t - 1] + v * step
    pos -= pos.mean()
    extent = max(np.ptp(pos.real), np.ptp(pos.imag), 1e-9)
    return pos * (length / extent)


def dwell_weights(rng: np.random.Generator, samples: int, amplitude: float, bumps: int = 4) -> np.ndarray:
    """Time spent at each of ``samples`` equally spaced trajectory points, for an uneven speed.

    A hand slows down and pauses as it shakes; where it lingers the PSF gathers weight and the
    photo shows a ghosted, partly crisp copy. The log of the dwell time is a smooth random curve
    (``bumps`` random cosines) of standard deviation about ``amplitude``: 0 gives constant speed.
    """
    t = np.linspace(0.0, 1.0, samples)
    freqs = rng.uniform(0.5, 3.0, bumps)
    phases = rng.uniform(0, 2 * np.pi, bumps)
    curve = np.cos(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None]).sum(axis=0)
    curve *= amplitude / np.sqrt(bumps / 2)
    return np.exp(curve - curve.max())


def trajectory_kernel(traj: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rasterise a trajectory into a normalised PSF by bilinear splatting.

    ``weights`` (one per trajectory point, e.g. from :func:`dwell_weights`) is the time the
    camera spent there; by default every point weighs the same (constant speed).
    """
    dwell = 1.0 if weights is None else np.asarray(weights, np.float64)
    half = int(np.ceil(max(np.abs(traj.real).max(), np.abs(traj.imag).max()))) + 1
    size = 2 * half + 1
    k = np.zeros((size, size), np.float64)
    x, y = traj.real + half, traj.imag + half
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), w * dwell)
    return (k / k.sum()).astype(np.float32)


def shake_kernel(rng: np.random.Generator, length: float, anxiety: float = 0.3, dwell: float = 0.0) -> np.ndarray:
    """PSF of a random camera shake whose trajectory spans ``length`` pixels; ``dwell`` > 0 makes
    its speed uneven (see :func:`dwell_weights`)."""
    traj = shake_trajectory(rng, length, anxiety)
    return trajectory_kernel(traj, dwell_weights(rng, len(traj), dwell) if dwell > 0 else None)


def motion_blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve with a motion PSF (e.g. from :func:`shake_kernel`)."""
    return _filter(img, kernel)


def oversharpen(img: np.ndarray, radius: float, amount: float) -> np.ndarray:
    """Unsharp mask: ``img + amount * (img - gaussian(img, radius))``; strong amounts leave halos."""
    f = img.astype(np.float32)
    blurred = cv2.GaussianBlur(f, (0, 0), radius, borderType=cv2.BORDER_REFLECT_101)
    return _to_uint8(f + amount * (f - blurred))


def high_boost(img: np.ndarray, amount: float) -> np.ndarray:
    """High-boost filtering: ``img - amount * laplacian(img)`` (ringing at edges)."""
    f = img.astype(np.float32)
    lap = cv2.Laplacian(f, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101)
    return _to_uint8(f - amount * lap)


def subject_centre(img: np.ndarray, rng: np.random.Generator, margin: tuple[float, float]) -> tuple[float, float]:
    """A random (y, x) centre drawn in proportion to local detail, at least ``margin`` (ry, rx) from the border.

    Photographers focus on the subject, and the subject is where the detail is: a bokeh-like
    sharp region centred on featureless sky would be a missed-focus photo, not bokeh.
    """
    h, w = img.shape[:2]
    ry, rx = min(margin[0], h / 2), min(margin[1], w / 2)
    gray = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_RGB2GRAY)
    energy = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)) ** 2
    # local detail at the scale of the sharp region, on a coarse grid of candidate centres
    energy = cv2.GaussianBlur(energy, (0, 0), max(1.0, min(ry, rx) / 2))
    ys = np.linspace(ry, max(ry, h - ry), 16)
    xs = np.linspace(rx, max(rx, w - rx), 16)
    weights = energy[np.clip(ys.astype(int), 0, h - 1)][:, np.clip(xs.astype(int), 0, w - 1)].ravel() + 1e-6
    pick = int(rng.choice(weights.size, p=weights / weights.sum()))
    return float(ys[pick // xs.size]), float(xs[pick % xs.size])


def partial_blur(img: np.ndarray, rng: np.random.Generator, sharp_fraction: float, radius: float) -> np.ndarray:
    """Bokeh-like image: an elliptical region around the subject stays sharp, the rest is defocused (label: original)."""
    h, w = img.shape[:2]
    ry, rx = np.sqrt(sharp_fraction / np.pi) * h, np.sqrt(sharp_fraction / np.pi) * w
    cy, cx = subject_centre(img, rng, (ry, rx))
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.float32)
    mask = cv2.GaussianBlur(inside, (0, 0), max(1.0, radius / 2))[..., None]
    blurred = defocus_blur(img, radius).astype(np.float32)
    return _like(img, mask * img.astype(np.float32) + (1 - mask) * blurred)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (1-100)."""
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()


def resample(img: np.ndarray, factor: float, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """Resize by ``factor`` with the given OpenCV interpolation."""
    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=interpolation)
