"""The dataset manifest, defined once: ``OUT/manifest.csv`` written by :mod:`dataset.build`, read by ``trainer``.

One row per written image: its path relative to the dataset folder, the source photo, the
split, the label, the degradation variant, the seed and every degradation parameter (empty
when a variant does not use it). Columns are :data:`MANIFEST_COLUMNS`, in order, header
first, UTF-8, LF line ends, rows sorted by ``file``.
"""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from pathlib import Path

MANIFEST_NAME = "manifest.csv"
SPLITS = ("train", "val", "test")
PARAM_COLUMNS = ("source_scale", "gaussian_sigma", "defocus_radius", "blades", "shake_length", "shake_anxiety",
                 "shake_dwell",
                 "usm_radius", "usm_amount", "boost_amount", "camera_radius", "camera_amount",
                 "partial_fraction", "night", "lights", "highlight_gain", "gain", "contrast", "noise", "noise_level",
                 "resample", "resample_kind", "web_sharpen", "overlay", "jpeg_quality")
MANIFEST_COLUMNS = ("file", "source", "split", "label", "variant", "seed", *PARAM_COLUMNS)

# Variant roles. "partial" (bokeh-like: a sharp region, the rest defocused) is labelled original, but
# its patches are mixed: it tests the image-level aggregation and gives no patch labels.
BOKEH_VARIANT = "partial"
IMAGE_LEVEL_ONLY_VARIANTS = frozenset({BOKEH_VARIANT})
# The seed project's layout (``--layout seed``): one original, one over-sharpened and one blurry
# image per source, the blur kind cycling through these.
SEED_LAYOUT = {"original": "original", "sharp": "unsharp"}
SEED_LAYOUT_BLUR = ("gaussian", "defocus", "shake")


class ManifestError(ValueError):
    """A manifest that lacks a column this version needs."""


def manifest_path(root: str | Path) -> Path:
    """``root/manifest.csv``."""
    return Path(root) / MANIFEST_NAME


def write_manifest(root: str | Path, rows: Iterable[dict[str, str]]) -> Path:
    """Write ``rows`` (dicts keyed by :data:`MANIFEST_COLUMNS`) to ``root/manifest.csv``."""
    path = manifest_path(root)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_manifest(root: str | Path, split: str | None = None) -> list[dict[str, str]]:
    """Rows of ``root/manifest.csv`` (only ``split``'s when given).

    Raises
    ------
    FileNotFoundError
        No manifest in ``root``.
    ManifestError
        The header lacks one of the columns ``trainer`` reads (``file``, ``split``, ``label``, ``variant``).
    """
    path = manifest_path(root)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("file", "split", "label", "variant") if c not in (reader.fieldnames or ())]
        if missing:
            raise ManifestError(f"{path}: not a dataset manifest (no column {', '.join(missing)})")
        return [row for row in reader if split is None or row["split"] == split]


def manifest_hash(root: str | Path) -> str:
    """SHA-256 of the dataset manifest (recorded in model metadata), or '' without one."""
    path = manifest_path(root)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
