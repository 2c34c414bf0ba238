"""Shared fixtures: tiny generated images and trees of them (no network, no large files)."""
from __future__ import annotations

import os
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]


def textured(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic RGB uint8 image with edges and texture (smooth gradient + blocks + noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = (x * 255 // max(width - 1, 1) + y * 127 // max(height - 1, 1)) % 256
    blocks = ((x // 8 + y // 8) % 2) * 60
    noise = rng.integers(0, 40, size=(height, width))
    grey = np.clip(base + blocks + noise, 0, 255).astype(np.uint8)
    return np.stack([grey, np.roll(grey, 3, axis=1), 255 - grey], axis=2)


def save_image(path: Path | str | bytes, width: int = 80, height: int = 60, seed: int = 0, mode: str = "RGB",
               fmt: str | None = None, **params: object) -> None:
    """Write a textured image of the given Pillow ``mode`` (``fmt`` defaults from the extension)."""
    im = Image.fromarray(textured(width, height, seed))
    if mode == "I;16":
        grey = np.asarray(im.convert("L"), dtype=np.uint16) * 257
        im = Image.fromarray(grey)
    elif mode != "RGB":
        im = im.convert(mode)
    if isinstance(path, bytes):  # a name that is not valid UTF-8
        with open(path, "wb") as fh:
            im.save(fh, format=fmt or "JPEG", **params)
        return
    im.save(path, format=fmt, **params)


def jpeg_with_orientation(path: Path, orientation: int, width: int = 48, height: int = 24) -> None:
    """A JPEG stored ``width x height`` with EXIF orientation ``orientation`` (1-8)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(textured(width, height, orientation)).save(path, format="JPEG", exif=exif.tobytes())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def decompression_bomb_png(path: Path, side: int = 30000) -> None:
    """A 100-byte PNG whose header claims ``side x side`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))


def save_animation(path: Path, fmt: str, frames: int = 3) -> None:
    ims = [Image.fromarray(textured(40, 30, seed)) for seed in range(frames)]
    ims[0].save(path, format=fmt, save_all=True, append_images=ims[1:], duration=100, loop=0)


def save_heic(path: Path) -> None:
    import pillow_heif

    pillow_heif.from_pillow(Image.fromarray(textured(64, 48, 7))).save(str(path), quality=80)


HOSTILE_NAMES: tuple[str, ...] = (
    "<img src=x onerror=alert(1)>.jpg",
    '=HYPERLINK("x").jpg',
    'a,b"c.jpg',
    "with space.jpg",
    "café ☕ 写真.jpg",
    "line\nbreak.jpg",
    "-dash.jpg",
    "+plus.jpg",
    "@at.jpg",
    "'=quoted.jpg",
    "tab\tname.jpg",
)
NON_UTF8_NAME = b"bad-\xff\xfe.jpg"


@dataclass(frozen=True)
class MixedTree:
    """A folder of every supported format, hostile names and broken files.

    ``good`` maps each decodable file (path relative to ``root``) to its (width, height)
    after EXIF orientation; ``broken`` lists undecodable files; ``ignored`` files must not
    be listed by a default walk (hidden or not images).
    """

    root: Path
    good: dict[str, tuple[int, int]] = field(default_factory=dict)
    broken: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def files(self) -> set[str]:
        return set(self.good) | set(self.broken)


def build_mixed_tree(root: Path) -> MixedTree:
    """Create the :class:`MixedTree` files under ``root``."""
    good: dict[str, tuple[int, int]] = {}
    for sub in ("orient", "formats", "hostile", "broken", ".cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for o in range(1, 9):
        jpeg_with_orientation(root / f"orient/o{o}.jpg", o)
        good[f"orient/o{o}.jpg"] = (24, 48) if o >= 5 else (48, 24)
    plain = {"alpha.png": "RGBA", "gray.jpg": "L", "cmyk.jpg": "CMYK", "palette.gif": "P", "photo.bmp": "RGB",
             "photo.tiff": "RGB", "UPPER.JPG": "RGB", "deep16.png": "I;16", "photo.webp": "RGB"}
    for name, mode in plain.items():
        save_image(root / "formats" / name, mode=mode, fmt="JPEG" if name.endswith(".JPG") else None)
        good[f"formats/{name}"] = (80, 60)
    save_animation(root / "formats/animated.gif", "GIF")
    save_animation(root / "formats/animated.webp", "WEBP")
    good.update({"formats/animated.gif": (40, 30), "formats/animated.webp": (40, 30)})
    save_heic(root / "formats/photo.heic")
    good["formats/photo.heic"] = (64, 48)
    save_image(root / "formats/no_extension", fmt="PNG")  # found by sniffing its magic bytes
    good["formats/no_extension"] = (80, 60)
    for i, name in enumerate(HOSTILE_NAMES):
        save_image(root / "hostile" / name, seed=i, fmt="JPEG")
        good[f"hostile/{name}"] = (80, 60)
    save_image(os.fsencode(root / "hostile") + b"/" + NON_UTF8_NAME)
    good["hostile/" + os.fsdecode(NON_UTF8_NAME)] = (80, 60)
    broken = _write_broken(root / "broken")
    save_image(root / ".hidden.jpg")
    save_image(root / ".cache/inside.jpg")
    (root / "notes.txt").write_text("not an image\n")
    (root / "README").write_text("no extension, not an image\n")
    return MixedTree(root, good, tuple(f"broken/{b}" for b in broken),
                     (".hidden.jpg", ".cache/inside.jpg", "notes.txt", "README"))


def _write_broken(folder: Path) -> tuple[str, ...]:
    (folder / "empty.jpg").write_bytes(b"")
    save_image(folder / "whole.tmp", width=200, height=150, fmt="JPEG")
    data = (folder / "whole.tmp").read_bytes()
    (folder / "whole.tmp").unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "text.jpg").write_text("this is text, not a JPEG\n")
    decompression_bomb_png(folder / "bomb.png")
    return ("bomb.png", "empty.jpg", "text.jpg", "truncated.jpg")


@pytest.fixture(scope="session")
def mixed_tree(tmp_path_factory: pytest.TempPathFactory) -> MixedTree:
    """A read-only (by convention) :class:`MixedTree`, built once per session."""
    return build_mixed_tree(tmp_path_factory.mktemp("mixed"))


@pytest.fixture
def photo_dir(tmp_path: Path) -> Callable[[int], Path]:
    """Factory: ``photo_dir(n)`` makes ``tmp_path/photos`` holding ``n`` small JPEGs in two folders."""

    def make(n: int, width: int = 96, height: int = 72) -> Path:
        root = tmp_path / "photos"
        for i in range(n):
            path = root / f"set{i % 2}" / f"img_{i:03d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_image(path, width, height, seed=i)
        return root

    return make


class FakeClassifier:
    """Deterministic stand-in for ``PatchClassifier``: the same logits for every patch."""

    def __init__(self, logits: tuple[float, float, float] = (0.0, 5.0, 0.0)) -> None:
        self.row = np.asarray(logits, np.float32)
        self.calls = 0

    def logits(self, patches: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.tile(self.row, (len(patches), 1))


@pytest.fixture
def fake_classifier() -> Callable[..., FakeClassifier]:
    """Factory: ``fake_classifier((blurry, original, sharp))`` logits for every patch."""
    return FakeClassifier


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for ``python -m iqa`` subprocesses that finds this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


PYTHON = sys.executable
