"""A small demo folder built from photos that ship inside installed packages (no download).

Sources: matplotlib's ``grace_hopper.jpg`` and, when scikit-image is installed, a few of
its bundled photos. Each source is copied as is, then degraded copies are added
(Gaussian blur, defocus, camera shake, over-sharpening) plus one truncated JPEG, so
the audit shows every label and an unreadable file.
"""
from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

# (package, path inside the package); missing ones are skipped.
SAMPLE_PHOTOS: tuple[tuple[str, str], ...] = (
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/rocket.jpg"),
)
# Only the first few sources get degraded copies: enough to show each label.
DEGRADED_SOURCES = 2
BROKEN_NAME = "broken_truncated.jpg"


class DemoError(Exception):
    """No sample photo could be found in the installed packages."""


def package_file(package: str, relative: str) -> Path | None:
    """Path of a data file inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def sample_photos() -> list[Path]:
    """The bundled sample photos available in this environment, in a fixed order."""
    return [p for pkg, rel in SAMPLE_PHOTOS if (p := package_file(pkg, rel)) is not None]


def degradations(seed: int = 0) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Name -> function of the degraded copies (fixed parameters, deterministic)."""
    from iqa.dataset import degrade

    rng = np.random.default_rng(seed)
    shake = degrade.shake_kernel(rng, 15)
    return {
        "gaussian-blur": lambda img: degrade.gaussian_blur(img, 3.0),
        "defocus": lambda img: degrade.defocus_blur(img, 5.0),
        "camera-shake": lambda img: degrade.motion_blur(img, shake),
        "oversharpened": lambda img: degrade.oversharpen(img, 2.0, 3.0),
    }


def _load_rgb(path: Path) -> np.ndarray:
    from iqa.auditor.imaging import open_image

    return open_image(path).pixels


def _save_jpeg(pixels: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(path, format="JPEG", quality=92)


def build_demo_folder(directory: str | Path) -> Path:
    """Fill ``directory`` with sample photos, degraded copies and one broken file.

    Parameters
    ----------
    directory : folder to create or reuse; files with the same names are overwritten.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    DemoError
        When no sample photo is installed.
    """
    sources = sample_photos()
    if not sources:
        raise DemoError("no sample photos found (matplotlib and scikit-image data are both missing)")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        shutil.copyfile(src, out / src.name)
    copies = degradations()
    for src in sources[:DEGRADED_SOURCES]:
        pixels = _load_rgb(src)
        for name, degrade_fn in copies.items():
            _save_jpeg(degrade_fn(pixels), out / f"{src.stem}_{name}.jpg")
    data = sources[0].read_bytes()
    (out / BROKEN_NAME).write_bytes(data[: max(1, len(data) // 3)])  # a transfer cut short
    return out
