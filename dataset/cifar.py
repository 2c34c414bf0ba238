"""Reader for a local CIFAR-10 copy in its standard python pickle format (never downloads)."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Iterator

import numpy as np

BATCH_NAMES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


class CifarError(Exception):
    """The folder holds no readable CIFAR-10 python batches."""


def find_batches(folder: str | Path) -> list[Path]:
    """Batch files under ``folder`` (it may be the ``cifar-10-batches-py`` folder or its parent)."""
    folder = Path(folder)
    for candidate in (folder, folder / "cifar-10-batches-py"):
        found = [candidate / n for n in BATCH_NAMES if (candidate / n).is_file()]
        if found:
            return found
    raise CifarError(f"no CIFAR-10 batches (data_batch_*, test_batch) in {folder}")


def read_batch(path: str | Path) -> np.ndarray:
    """Images of one batch as (n, 32, 32, 3) uint8 RGB."""
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def iter_cifar(folder: str | Path, limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``("cifar/<batch>/<index>", image)`` for the batches in ``folder``, at most ``limit``."""
    count = 0
    for path in find_batches(folder):
        for i, image in enumerate(read_batch(path)):
            if limit is not None and count >= limit:
                return
            yield f"cifar/{path.name}/{i}", image
            count += 1
