"""Seeded generator of hostile inputs for the audit (the CI fuzz test and benchmarks/fuzz_audit.py).

Every supported format, good and mutated (truncated, bit-flipped, header-mutated, chunk
payloads replaced, junk appended, zero runs), bombs, odd names (control characters, RTL
override, newlines, bytes that are not UTF-8, 250-byte names), odd tree shapes (deep
nesting, wide folders), links (dangling, loops, into the tree, to FIFOs), FIFOs, sockets,
and a :class:`Mutator` that changes files while an audit runs.

The manifest says, by construction, which paths must get a row and which files are damaged
for sure; :func:`pillow_decodes` is the independent oracle for the rest (Pillow opens,
fully loads the first frame and verifies).
"""
from __future__ import annotations

import io
import os
import random
import socket
import struct
import threading
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

try:  # the oracle must read every format the auditor reads
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pillow_heif = None

ImageFile.LOAD_TRUNCATED_IMAGES = False
FORMATS = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "tif": "TIFF", "bmp": "BMP",
           "heic": "HEIF", "avif": "AVIF"}
ODD_NAMES = ("ctl\x01\x1b[31m", "rtl\u202egpj.exe", "new\nline", "tab\there", "-dash", "=SUM(A1)", "<img src=x onerror=alert(1)>",
             "space name", "é☕写真", "quote\"'", "back\\slash")


@dataclass
class Manifest:
    """What was built under ``root``.

    ``rows``: relative paths that must get exactly one row. ``damaged``: paths that must not be
    ok whatever the oracle says (empty, text, bombs, zero-filled). ``volatile``: paths the
    :class:`Mutator` may change (a row is optional, content unknown). ``skipped``: entries that
    must get no row (FIFOs, sockets, links to them, hidden, not images, links into the tree).
    """

    root: Path
    rows: set[str] = field(default_factory=set)
    damaged: set[str] = field(default_factory=set)
    volatile: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)
    sockets: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _picture(rng: random.Random, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = (x * rng.randint(1, 7) + y * rng.randint(1, 5) + ((x // 6 + y // 6) % 2) * 70) % 256
    noise = np.random.default_rng(rng.randint(0, 2**31)).integers(0, 30, (h, w))
    grey = np.clip(base + noise, 0, 255).astype(np.uint8)
    return np.stack([grey, np.roll(grey, 5, axis=1), 255 - grey], axis=2)


def seed_files(rng: random.Random) -> list[tuple[str, bytes]]:
    """Good files of every format and several modes: ``(extension, bytes)``."""
    out: list[tuple[str, bytes]] = []
    for i in range(3):
        pixels = _picture(rng, rng.randint(40, 200), rng.randint(30, 150))
        im = Image.fromarray(pixels)
        variants = [("jpg", im, {}), ("jpg", im.convert("L"), {"progressive": True}), ("jpg", im.convert("CMYK"), {}),
                    ("png", im, {}), ("png", im.convert("RGBA"), {}), ("png", im.convert("P"), {"optimize": True}),
                    ("png", im.convert("1"), {}), ("png", im, {"interlace": 1} if i else {}),
                    ("gif", im.convert("P"), {}), ("webp", im, {"lossless": bool(i % 2)}),
                    ("tif", im, {"compression": ("raw", "tiff_lzw", "tiff_deflate")[i]}), ("bmp", im, {}),
                    ("avif", im, {"quality": 60})]
        for ext, image, params in variants:
            buf = io.BytesIO()
            image.save(buf, format=FORMATS[ext], **params)
            out.append((ext, buf.getvalue()))
        try:
            buf = io.BytesIO()
            pillow_heif.from_pillow(im).save(buf, quality=70)
            out.append(("heic", buf.getvalue()))
        except Exception:  # pragma: no cover - HEIF encoder missing on this platform
            pass
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bombs() -> list[tuple[str, bytes]]:
    """Small files that claim huge images (each must be an error)."""
    side = 14142
    one_bit = zlib.compress((b"\x00" + bytes((side + 7) // 8)) * side, 9)
    png1 = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", one_bit) + _chunk(b"IEND", b""))
    png_rgb = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
               + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b""))
    gif = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b",\x00\x00\x00\x00" + struct.pack(
        "<HH", 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;"
    return [("png", png1), ("png", png_rgb), ("gif", gif), ("jpg", b"\xff\xd8\xff" + bytes(2_000_000))]


MUTATIONS = ("good", "truncate", "flip", "header", "junk", "zeros", "idat", "swap_ext", "empty", "text")
DAMAGED_FOR_SURE = ("empty", "text")


def mutate(rng: random.Random, ext: str, data: bytes) -> tuple[str, str, bytes]:
    """One mutation of ``data``: ``(mutation, extension, bytes)``."""
    kind = rng.choice(MUTATIONS)
    buf = bytearray(data)
    if kind == "truncate":
        buf = buf[: rng.randint(0, len(buf) - 1)]
    elif kind == "flip":
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == "header":
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(min(64, len(buf)))] = rng.randrange(256)
    elif kind == "junk":
        buf += os.urandom(rng.randint(1, 4096))
    elif kind == "zeros":
        start = rng.randrange(len(buf))
        n = rng.randint(1, 512)
        buf[start:start + n] = bytes(len(buf[start:start + n]))
    elif kind == "idat" and ext == "png":
        at = buf.find(b"IDAT")
        if at > 4:
            n = struct.unpack(">I", buf[at - 4:at])[0]
            payload = os.urandom(n)
            buf[at - 4:at + 8 + n] = _chunk(b"IDAT", payload)  # valid CRC, payload not zlib
    elif kind == "swap_ext":
        ext = rng.choice(sorted(FORMATS))
    elif kind == "empty":
        buf = bytearray()
    elif kind == "text":
        buf = bytearray(b"this is not an image\n" * rng.randint(1, 20))
    return kind, ext, bytes(buf)


def _name(rng: random.Random, i: int, ext: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return f"{rng.choice(ODD_NAMES)}_{i}.{ext}"
    if roll < 0.17:
        return f"{'L' * 240}_{i}.{ext}"[-250:]
    return f"f{i:05d}.{ext}"


def build(root: Path, n_files: int = 300, seed: int = 0, depth: int = 60) -> Manifest:
    """Build a hostile tree of about ``n_files`` entries under ``root``; returns its manifest."""
    rng = random.Random(seed)
    man = Manifest(root)
    root.mkdir(parents=True, exist_ok=True)
    seeds = seed_files(rng)
    folders = [""] + [f"d{k:02d}" for k in range(max(1, n_files // 200))]
    for folder in folders[1:]:
        (root / folder).mkdir(exist_ok=True)

    def add(rel: str, data: bytes, kind: str, damaged: bool) -> None:
        (root / rel).write_bytes(data)
        man.rows.add(rel)
        man.kinds[rel] = kind
        if damaged:
            man.damaged.add(rel)

    for ext, data in bombs():
        add(f"bomb_{len(man.rows)}.{ext}", data, "bomb", True)
    i = 0
    while len(man.rows) < n_files - 30:
        ext, data = rng.choice(seeds)
        kind, ext, data = mutate(rng, ext, data)
        rel = os.path.join(rng.choice(folders), _name(rng, i, ext))
        add(rel, data, kind, kind in DAMAGED_FOR_SURE)
        i += 1
    bad = os.fsencode(root) + b"/bytes-\xff\xfe.jpg"  # a name that is not valid UTF-8
    with open(bad, "wb") as fh:
        fh.write(seeds[0][1])
    man.rows.add(os.fsdecode(b"bytes-\xff\xfe.jpg"))
    _odd_entries(root, man, rng, seeds, depth)
    return man


def _odd_entries(root: Path, man: Manifest, rng: random.Random, seeds: list[tuple[str, bytes]], depth: int) -> None:
    deep = root / "deep"
    fd = os.open(root, os.O_RDONLY)
    os.mkdir("deep", dir_fd=fd)
    rel = "deep"
    cur = os.open("deep", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    for _ in range(depth):
        os.mkdir("n", dir_fd=cur)
        nxt = os.open("n", os.O_RDONLY, dir_fd=cur)
        os.close(cur)
        cur, rel = nxt, os.path.join(rel, "n")
    with open(os.open("bottom.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=cur), "wb") as fh:
        fh.write(next(d for e, d in seeds if e == "png"))
    os.close(cur)
    man.rows.add(os.path.join(rel, "bottom.png"))
    del deep
    os.mkfifo(root / "fifo.jpg")
    (root / "link_to_fifo.jpg").symlink_to(root / "fifo.jpg")
    (root / "dangling.png").symlink_to(root / "nowhere.png")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "d00").mkdir(exist_ok=True)
    (root / "a_link_into_d00").symlink_to(root / "d00", target_is_directory=True)
    (root / ".hidden.jpg").write_bytes(seeds[0][1])
    (root / "notes.txt").write_text("not an image\n")
    (root / "link_to_file.jpg").symlink_to(root / "bomb_0.png")
    man.rows.add("link_to_file.jpg")
    man.damaged.add("link_to_file.jpg")
    man.skipped |= {"fifo.jpg", "link_to_fifo.jpg", "dangling.png", "loop", "a_link_into_d00", ".hidden.jpg",
                    "notes.txt"}
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(root / "socket.jpg"))
        man.sockets.append(sock)
        man.skipped.add("socket.jpg")
    except OSError:  # path too long for a socket address, or no AF_UNIX
        pass
    for k in range(10):  # files the Mutator changes while the audit runs
        rel = f"volatile_{k}.{('jpg', 'png')[k % 2]}"
        (root / rel).write_bytes(seeds[k % len(seeds)][1])
        man.volatile.add(rel)


class Mutator(threading.Thread):
    """Changes the manifest's volatile files while an audit runs: rewrites, truncates, replaces with a
    FIFO or a folder, deletes and recreates."""

    def __init__(self, man: Manifest, seed: int = 0, period: float = 0.05) -> None:
        super().__init__(name="fuzz-mutator", daemon=True)
        self.man, self.rng, self.period = man, random.Random(seed), period
        self.stop = threading.Event()

    def run(self) -> None:
        paths = sorted(self.man.volatile)
        while not self.stop.wait(self.period):
            path = self.man.root / self.rng.choice(paths)
            action = self.rng.randrange(4)
            try:
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                elif path.exists() or path.is_symlink():
                    path.unlink()
                if action == 0:
                    os.mkfifo(path)
                elif action == 1:
                    path.mkdir()
                else:
                    path.write_bytes(os.urandom(self.rng.randint(0, 3000)) if action == 2 else b"\xff\xd8\xff")
            except OSError:
                pass
            time.sleep(0)


def pillow_decodes(path: str | Path) -> bool:
    """Independent oracle: Pillow opens the file, fully loads its first frame, and verifies it."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return pillow_decodes_bytes(data)


def pillow_decodes_bytes(data: bytes) -> bool:
    """The same oracle on bytes in memory (Pillow's warnings kept to itself)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.seek(0)
                im.load()
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
        return True
    except Exception:
        return False
