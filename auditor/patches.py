"""Patch sampling shared by training and auditing.

An image is cut into a grid of non-overlapping ``size`` x ``size`` cells at analysis
scale; the ``count`` most textured cells are analysed. Textured cells carry the
evidence about blur and halos; flat sky carries none, and a sharp subject in front
of a blurred background (bokeh) wins the selection, so bokeh is not called blurry.
Small images (a plain grid of fewer than ``half_step_below`` cells) use a grid with
half-size steps instead (cells overlap by half), so a small sharp subject is not
split across cells and lost. The grid never depends on ``count``, so the ``n`` most
textured patches are the same whatever ``count >= n`` is asked for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from iqa.auditor.defaults import PATCH_SIZE, TRAINING_PATCH_COUNT
from iqa.auditor.sharpness import to_grey


@dataclass(frozen=True)
class PatchPolicy:
    """How patches are chosen: cell size in pixels and how many cells to keep."""

    size: int = PATCH_SIZE
    count: int = TRAINING_PATCH_COUNT
    max_fraction: float = 0.5  # never more than this share of the grid: small images keep only textured cells
    # plain grids of fewer cells use half steps: 47 = too few cells to fill 24 patches from half the grid
    half_step_below: int = 47

    def stride(self, shape: tuple[int, ...]) -> int:
        """Grid step in pixels for an image of ``shape``: ``size``, or ``size // 2`` for small images."""
        plain = (shape[0] // self.size) * (shape[1] // self.size)
        half_steps = plain < self.half_step_below and self.size % 2 == 0  # a half step must tile the cell
        return self.size // 2 if half_steps else self.size

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


def cell_texture(gray: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Mean squared Sobel gradient of every ``size`` cell on a grid of step ``stride``, shape (rows, cols).

    Measured on a half-resolution copy: the ranking of cells is what matters, and it costs a
    tenth of the full-resolution version (large temporary arrays dominate on small photos).
    ``stride`` must divide ``size``; cells then overlap and are averaged from stride-sized blocks.
    """
    stride = stride or size
    rows, cols = gray.shape[0] // stride, gray.shape[1] // stride
    half = cv2.resize(gray[: rows * stride, : cols * stride], (cols * stride // 2, rows * stride // 2),
                      interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy)
    blocks = cv2.resize(cv2.multiply(magnitude, magnitude), (cols, rows), interpolation=cv2.INTER_AREA)
    k = size // stride
    if k == 1:
        return blocks
    # mean over k x k neighbouring blocks = texture of the overlapping cell starting at each block
    summed = cv2.boxFilter(blocks, -1, (k, k), anchor=(0, 0), normalize=True, borderType=cv2.BORDER_CONSTANT)
    return summed[: rows - k + 1, : cols - k + 1]


def grid_offset(shape: tuple[int, ...], size: int, stride: int | None = None) -> tuple[int, int]:
    """Centre the grid so the unused margin is split evenly (y, x)."""
    stride = stride or size
    return (shape[0] % stride) // 2, (shape[1] % stride) // 2


def select_patches(pixels: np.ndarray, policy: PatchPolicy = PatchPolicy(), grey: np.ndarray | None = None) -> PatchSet:
    """Pick the ``policy.count`` most textured grid cells of an RGB uint8 image.

    Parameters
    ----------
    pixels : (H, W, 3) uint8 image at analysis scale.
    policy : cell size and number of cells.
    grey : ``sharpness.to_grey(pixels)`` when the caller has it already (the same
        result, one conversion fewer).

    Returns
    -------
    PatchSet
        Patches ordered by decreasing texture: ``count`` of them, or ``max_fraction`` of the grid
        when that is fewer (small images).
    """
    size = policy.size
    padded = pad_to_min_size(pixels, size)
    if padded is not pixels:
        pixels, grey = padded, None
    stride = policy.stride(pixels.shape)
    oy, ox = grid_offset(pixels.shape, size, stride)
    # grey is per pixel: the crop of the whole image's grey is the grey of the crop
    gray = grey[oy:, ox:] if grey is not None else to_grey(pixels[oy:, ox:])
    texture = cell_texture(gray, size, stride)
    flat = texture.ravel()
    # stable sort on negated score: deterministic order for equal scores
    order = np.argsort(-flat, kind="stable")[: policy.cells_to_keep(flat.size)]
    cols = texture.shape[1]
    corners = np.stack([order // cols * stride + oy, order % cols * stride + ox], axis=1).astype(np.int32)
    patches = np.stack([pixels[y : y + size, x : x + size] for y, x in corners])
    return PatchSet(patches=patches, corners=corners, texture=flat[order].astype(np.float32))
