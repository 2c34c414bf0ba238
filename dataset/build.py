"""Dataset builder: folders of good photos (and CIFAR-10) -> labelled images + manifest.

Layout ``splits``: ``OUT/{train,val,test}/{blurry,original,sharp}/`` plus ``OUT/manifest.csv``.
Layout ``seed``: ``OUT/{original,sharp,blurry}/`` with ``count`` images each (the seed project's layout).
Splits are by source photo. Every random choice comes from a generator seeded by
(seed, source index, variant index), so the same inputs and seed give a byte-identical manifest
whatever the number of workers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from iqa.auditor.defaults import MAX_SIDE
from iqa.auditor.engine import Backend, local_backend, running
from iqa.auditor.imaging import ImageLoadError, open_image
from iqa.auditor.labels import LABELS
from iqa.dataset.cifar import iter_cifar
from iqa.dataset.manifest import PARAM_COLUMNS, SEED_LAYOUT, SEED_LAYOUT_BLUR, SPLITS, write_manifest
from iqa.dataset.recipes import UNSHRUNK_VARIANTS, VARIANTS, crisp_source, make_variant
from iqa.dataset.ranges import RANGES, DegradationRanges



@dataclass(frozen=True)
class BuildConfig:
    """What to build. ``fractions`` are train/val/test shares of the *source photos*."""

    seed: int = 0
    split_seed: int | None = None  # None: ``seed``; set it to redraw degradations but keep the held-out photos
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    variants: tuple[str, ...] = tuple(VARIANTS)
    layout: str = "splits"  # or "seed"
    count: int = 500  # images per class in the seed layout
    workers: int = 0  # 0 = all cores
    max_side: int = MAX_SIDE
    ranges: DegradationRanges = RANGES


@dataclass(frozen=True)
class Source:
    """A source photo: a file path, or an in-memory image (CIFAR)."""

    key: str
    path: Path | None = None
    image: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BuildReport:
    """Outcome of a build: how many samples were written and which sources were skipped."""

    out: Path
    samples: int
    sources: int
    skipped: tuple[tuple[str, str], ...]  # (source key, reason)
    counts: dict[str, int]


def list_sources(dirs: Iterable[str | Path], cifar: str | Path | None = None,
                 cifar_limit: int | None = None) -> list[Source]:
    """Photo files under ``dirs`` (recursive, sorted) then CIFAR-10 images from ``cifar``."""
    from iqa.auditor.walk import iter_image_files

    sources = []
    for i, root in enumerate(dirs):
        for found_root, rel in iter_image_files([root]):
            path = Path(found_root) / rel
            sources.append(Source(key=f"{i}:{Path(rel).as_posix()}", path=path))
    sources.sort(key=lambda s: s.key)  # split assignment must not depend on the walk's order
    if cifar:
        sources.extend(Source(key=k, image=img) for k, img in iter_cifar(cifar, cifar_limit))
    return sources


def assign_splits(n: int, seed: int, fractions: tuple[float, float, float]) -> list[str]:
    """Split name for each of ``n`` sources (a seeded permutation, cut by ``fractions``)."""
    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    n_train = round(n * fractions[0])
    n_val = round(n * fractions[1])
    split = np.empty(n, dtype=object)
    split[order[:n_train]] = "train"
    split[order[n_train : n_train + n_val]] = "val"
    split[order[n_train + n_val :]] = "test"
    return [str(s) for s in split]


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_image(path: Path, img: np.ndarray, jpeg_quality: int | None) -> Path:
    """Write RGB ``img`` as JPEG at ``jpeg_quality`` or, when None, as lossless PNG."""
    path = path.with_suffix(".jpg" if jpeg_quality else ".png")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if jpeg_quality else []
    if not cv2.imwrite(str(path), np.ascontiguousarray(img[..., ::-1]), params):
        raise OSError(f"cannot write {path}")
    return path


def _load(source: Source, max_side: int) -> np.ndarray:
    if source.image is not None:
        return source.image
    return open_image(source.path, max_side).pixels


def _jobs(index: int, split: str, config: BuildConfig) -> list[tuple[int, str, str]]:
    """(variant index, variant, folder) for one source."""
    if config.layout == "seed":
        names = list(VARIANTS)
        blur = SEED_LAYOUT_BLUR[index % len(SEED_LAYOUT_BLUR)]
        kept = [(SEED_LAYOUT["original"], "original"), (SEED_LAYOUT["sharp"], "sharp"), (blur, "blurry")]
        return [(names.index(v), v, folder) for v, folder in kept]
    names = list(VARIANTS)
    return [(names.index(v), v, f"{split}/{VARIANTS[v][0]}") for v in config.variants]


def make_source_samples(task: tuple[int, Source, str, BuildConfig, Path]) -> tuple[list[dict[str, str]], str]:
    """Worker: every variant of one source; returns (manifest rows, error reason or '')."""
    index, source, split, config, out = task
    try:
        pixels = _load(source, config.max_side)
    except ImageLoadError as exc:
        return [], str(exc)
    base, scale = crisp_source(pixels, np.random.default_rng([config.seed, index]), config.ranges)
    rows = []
    for vi, variant, folder in _jobs(index, split, config):
        rng = np.random.default_rng([config.seed, index, vi])
        unshrunk = variant in UNSHRUNK_VARIANTS
        img, label, params = make_variant(pixels if unshrunk else base, variant, rng, config.ranges)
        params["source_scale"] = 1.0 if unshrunk else scale
        target = out / folder / f"{index:06d}_{variant}"
        written = write_image(target, img, params.get("jpeg_quality"))
        row = {"file": written.relative_to(out).as_posix(), "source": source.key,
               "split": split if config.layout == "splits" else "", "label": label, "variant": variant,
               "seed": str(config.seed)}
        row.update({c: _format(params[c]) if c in params else "" for c in PARAM_COLUMNS})
        rows.append(row)
    return rows, ""


def _tasks(sources: list[Source], config: BuildConfig, out: Path) -> Iterator[tuple]:
    if config.layout == "seed":
        sources = sources[: config.count]
        splits = [""] * len(sources)
    else:
        split_seed = config.seed if config.split_seed is None else config.split_seed
        splits = assign_splits(len(sources), split_seed, config.fractions)
    for i, (source, split) in enumerate(zip(sources, splits)):
        yield i, source, split, config, out


def _prepare_folders(out: Path, config: BuildConfig) -> None:
    groups = [f"{s}/{label}" for s in SPLITS for label in LABELS] if config.layout == "splits" else list(LABELS)
    for g in groups:
        (out / g).mkdir(parents=True, exist_ok=True)


def _timed_out(task: tuple, reason: str) -> tuple[list[dict[str, str]], str]:
    return [], f"{reason} (decoder or degradation hung, or its worker crashed)"


def build_dataset(sources: list[Source], out: str | Path, config: BuildConfig = BuildConfig(),
                  progress: Callable[[int], None] | None = None, backend: Backend | None = None) -> BuildReport:
    """Write the labelled images and ``manifest.csv`` for ``sources`` into ``out``.

    ``progress`` is called with 1 after each source (the CLI hooks tqdm to it).
    Unreadable sources are skipped and listed in the report; they never stop the build, nor
    does a source whose worker hangs or crashes (see :mod:`auditor.engine`). ``backend``
    runs the sources (default: ``config.workers`` local processes).
    """
    out = Path(out)
    _prepare_folders(out, config)
    rows: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    tasks = list(_tasks(sources, config, out))
    engine = backend if backend is not None else local_backend(config.workers, initializer=_init_worker)
    with running(engine.map_ordered(make_source_samples, tasks, _timed_out)) as results:
        for task, (task_rows, error) in zip(tasks, results):
            rows.extend(task_rows)
            if error:
                skipped.append((task[1].key, error))
            if progress:
                progress(1)
    rows.sort(key=lambda r: r["file"])
    write_manifest(out, rows)
    counts = {label: sum(r["label"] == label for r in rows) for label in LABELS}
    return BuildReport(out, len(rows), len(tasks), tuple(skipped), counts)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # the worker processes share the cores
