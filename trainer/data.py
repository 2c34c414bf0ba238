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

__all__ = ["ImageItem", "PatchData", "list_items", "manifest_hash", "extract_patches", "load_split_patches",
           "concat_patches", "check_same_split", "held_out_photos"]


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


def concat_patches(parts: list[PatchData]) -> PatchData:
    """One :class:`PatchData` of several (image indices stay unique: each part's are offset)."""
    offset, images = 0, []
    for part in parts:
        images.append(part.image + offset)
        offset += int(part.image.max()) + 1 if len(part.image) else 0
    return PatchData(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                     np.concatenate(images))


def check_same_split(dataset: str | Path, also: tuple[str, ...] | list[str]) -> None:
    """Raise ValueError when a build of ``also`` trains on a source photo that ``dataset`` holds out.

    Extra draws must come from the same source split (``iqa dataset build --split-seed``), or their
    train split would leak ``dataset``'s validation and test photos into training.
    """
    held_out = {r["source"] for r in read_manifest(dataset) if r["split"] != "train"}
    for other in also:
        leaked = held_out & {r["source"] for r in read_manifest(other, "train")}
        if leaked:
            raise ValueError(f"{other} trains on {len(leaked)} source photo(s) that {dataset} holds out for "
                             "validation or test; build it with the same --split-seed")


def held_out_photos(dataset: str | Path, source_roots: list[str | Path] | tuple[str | Path, ...],
                    split: str = "val") -> list[ImageItem]:
    """The untouched source photos of ``dataset``'s ``split``, as items labelled original (variant ``native``).

    ``source_roots`` are the ``--source`` folders the dataset was built from, in the same order
    (manifest sources are keyed ``"index:relative/path"``); CIFAR sources and missing files are left out.
    """
    roots = [Path(r) for r in source_roots]
    keys = sorted({r["source"] for r in read_manifest(dataset, split)})
    items = []
    for key in keys:
        index, _, rel = key.partition(":")
        if index.isdigit() and int(index) < len(roots) and (roots[int(index)] / rel).is_file():
            items.append(ImageItem(roots[int(index)] / rel, "original", "native"))
    return items
