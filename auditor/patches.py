"""Patch sampling shared by training and auditing.

An image is cut into a grid of non-overlapping ``size`` x ``size`` cells at analysis
scale; the ``count`` most textured cells are analysed. Textured cells carry the
evidence about blur and halos; flat sky carries none, and a sharp subject in front
of a blurred background (bokeh) wins the selection, so bokeh is not called blurry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np



@dataclass(frozen=True)
class PatchPolicy:
    """How patches are chosen: cell size in pixels and how many cells to keep."""

    size: int = 64
    count: int = 24
    max_fraction: float = 0.5  # never more than this share of the grid: small images keep only textured cells

    def cells_to_keep(self, n_cells: int) -> int:
        """How many of ``n_cells`` grid cells are analysed (at least one)."""
        return max(1, min(self.count, math.ceil(n_cells * self.max_fraction)))


@dataclass(frozen=True)
class PatchSet:
    """Patches of one image, with their top-left corners (y, x) and texture scores."""

    patches: np.ndarray  # (n, size, size, 3) uint8
    corners: np.ndarray  # (n, 2) int32, (y, x) at analysis scale
    texture: np.ndarray  # (n,) float32, mean squared gradient of each patch


def pad_to_min_size(pixels: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an image smaller than one patch so at least one cell fits."""
    h, w = pixels.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if not (ph or pw):
        return pixels
    return cv2.copyMakeBorder(pixels, 0, ph, 0, pw, cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE)


def cell_texture(gray: np.ndarray, size: int) -> np.ndarray:
    """Mean squared Sobel gradient of every full grid cell, shape (rows, cols).

    Measured on a half-resolution copy: the ranking of cells is what matters, and it costs a
    tenth of the full-resolution version (large temporary arrays dominate on small photos).
    """
    rows, cols = gray.shape[0] // size, gray.shape[1] // size
    half = cv2.resize(gray[: rows * size, : cols * size], (cols * size // 2, rows * size // 2),
                      interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy)
    return cv2.resize(cv2.multiply(magnitude, magnitude), (cols, rows), interpolation=cv2.INTER_AREA)


def grid_offset(shape: tuple[int, ...], size: int) -> tuple[int, int]:
    """Centre the grid so the unused margin is split evenly (y, x)."""
    return (shape[0] % size) // 2, (shape[1] % size) // 2


def select_patches(pixels: np.ndarray, policy: PatchPolicy = PatchPolicy()) -> PatchSet:
    """Pick the ``policy.count`` most textured grid cells of an RGB uint8 image.

    Parameters
    ----------
    pixels : (H, W, 3) uint8 image at analysis scale.
    policy : cell size and number of cells.

    Returns
    -------
    PatchSet
        Patches ordered by decreasing texture: ``count`` of them, or ``max_fraction`` of the grid
        when that is fewer (small images).
    """
    size = policy.size
    pixels = pad_to_min_size(pixels, size)
    oy, ox = grid_offset(pixels.shape, size)
    gray = cv2.cvtColor(np.ascontiguousarray(pixels[oy:, ox:]), cv2.COLOR_RGB2GRAY)
    texture = cell_texture(gray, size)
    flat = texture.ravel()
    # stable sort on negated score: deterministic order for equal scores
    order = np.argsort(-flat, kind="stable")[: policy.cells_to_keep(flat.size)]
    cols = texture.shape[1]
    corners = np.stack([order // cols * size + oy, order % cols * size + ox], axis=1).astype(np.int32)
    patches = np.stack([pixels[y : y + size, x : x + size] for y, x in corners])
    return PatchSet(patches=patches, corners=corners, texture=flat[order].astype(np.float32))
