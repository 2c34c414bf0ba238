"""Training patches from a built dataset, cut by the auditor's own loading and patch code."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from iqa.auditor.engine import Backend, local_backend, running
from iqa.auditor.defaults import MAX_SIDE
from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.labels import LABELS
from iqa.auditor.patches import PatchPolicy, select_patches
from iqa.dataset.manifest import IMAGE_LEVEL_ONLY_VARIANTS, manifest_hash, manifest_path, read_manifest

__all__ = ["ImageItem", "PatchData", "list_items", "manifest_hash", "extract_patches", "load_split_patches"]


@dataclass(frozen=True)
class ImageItem:
    """One labelled image of a dataset split."""

    path: Path
    label: str
    variant: str = ""


@dataclass(frozen=True)
class PatchData:
    """Patches with integer labels and the index of the image each came from."""

    x: np.ndarray  # (n, s, s, 3) uint8
    y: np.ndarray  # (n,) int64 index into LABELS
    image: np.ndarray  # (n,) int64 index into the item list


def list_items(root: str | Path, split: str | None = None) -> list[ImageItem]:
    """Labelled images of a dataset (``root/manifest.csv``) or of any ``blurry/ original/ sharp/`` tree.

    With a manifest and ``split``, only that split's rows; a tree without manifest is walked and
    every image below a folder named after a label gets that label.
    """
    root = Path(root)
    if manifest_path(root).is_file():
        return [ImageItem(root / r["file"], r["label"], r["variant"]) for r in read_manifest(root, split)]
    from iqa.auditor.walk import iter_image_files

    base = root / split if split and (root / split).is_dir() else root
    items = []
    for found_root, rel in iter_image_files([base]):
        label = next((p for p in reversed(Path(rel).parts[:-1]) if p in LABELS), None)
        if label:
            items.append(ImageItem(Path(found_root) / rel, label))
    return items


def _patches_of(task: tuple[Path, PatchPolicy, int]) -> np.ndarray | None:
    path, policy, max_side = task
    try:
        return select_patches(open_image(path, max_side).pixels, policy).patches
    except ImageLoadError:
        return None


def _no_patches(task: tuple[Path, PatchPolicy, int], reason: str) -> None:
    return None  # a hung or crashed decoder: the image is skipped like an unreadable one


def extract_patches(items: list[ImageItem], policy: PatchPolicy, max_side: int = MAX_SIDE, workers: int = 0,
                    progress: Callable[[int], None] | None = None, backend: Backend | None = None) -> PatchData:
    """Cut the patches of every item exactly as the auditor would (unreadable images are skipped).

    ``backend`` runs the decoding (see :mod:`auditor.engine`); default: ``workers`` local processes.
    """
    tasks = [(it.path, policy, max_side) for it in items]
    xs, ys, imgs = [], [], []
    engine = backend if backend is not None else local_backend(workers)
    with running(engine.map_ordered(_patches_of, tasks, _no_patches)) as results:
        for i, patches in enumerate(results):
            if progress:
                progress(1)
            if patches is None:
                continue
            xs.append(patches)
            ys.append(np.full(len(patches), LABELS.index(items[i].label)))
            imgs.append(np.full(len(patches), i))
    if not xs:
        s = policy.size
        return PatchData(np.zeros((0, s, s, 3), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return PatchData(np.concatenate(xs), np.concatenate(ys).astype(np.int64), np.concatenate(imgs).astype(np.int64))


def load_split_patches(root: str | Path, split: str, policy: PatchPolicy, max_side: int = MAX_SIDE,
                       patch_level: bool = True, progress: Callable[[int], None] | None = None,
                       cache: bool = True) -> tuple[list[ImageItem], PatchData]:
    """Items and patches of one split, cached as ``.npz`` beside the manifest (keyed by policy)."""
    items = list_items(root, split)
    if patch_level:
        items = [it for it in items if it.variant not in IMAGE_LEVEL_ONLY_VARIANTS]
    key = (f"{manifest_hash(root)[:12]}_{split}_{policy.size}x{policy.count}_h{policy.half_step_below}"
           f"_{policy.max_fraction:g}_{max_side}_{int(patch_level)}")
    cache_file = Path(root) / f".patches_{key}.npz"
    if cache and cache_file.is_file() and manifest_path(root).is_file():
        z = np.load(cache_file)
        return items, PatchData(z["x"], z["y"], z["image"])
    data = extract_patches(items, policy, max_side, progress=progress)
    if cache and manifest_path(root).is_file():
        np.savez(cache_file, x=data.x, y=data.y, image=data.image)
    return items, data
