"""Deterministic discovery of image files under one or more roots.

Every path is treated as hostile: names may hold spaces, newlines, markup, CSV
metacharacters or bytes that are not valid UTF-8 (kept as surrogate escapes, so
``os.path.join(root, path)`` still opens the file).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from iqa.auditor.imaging import IMAGE_EXTENSIONS

SNIFF_BYTES = 32

# (offset, magic) pairs of the formats the auditor decodes.
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),  # PNG
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),  # BMP
    (0, b"II*\x00"),  # TIFF little-endian
    (0, b"MM\x00*"),  # TIFF big-endian
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


def sniff_image(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts like a supported image.

    Parameters
    ----------
    head : at least :data:`SNIFF_BYTES` bytes of the file, fewer if the file is shorter.
    """
    if any(head[off:off + len(magic)] == magic for off, magic in _MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def has_image_extension(name: str) -> bool:
    """True when ``name`` ends with a known image extension (any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _sniff_file(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return sniff_image(fh.read(SNIFF_BYTES))
    except OSError:
        return False


def _is_regular_file(entry: os.DirEntry) -> bool:
    # Only regular files: opening a FIFO or a device would block or never end.
    try:
        return entry.is_file(follow_symlinks=True)
    except OSError:
        return False


def _is_candidate(entry: os.DirEntry) -> bool:
    if not _is_regular_file(entry):
        return False
    return has_image_extension(entry.name) or _sniff_file(entry.path)


def _real_dir(path: str) -> str:
    return os.path.realpath(path)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _sorted_entries(directory: str) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:  # unreadable directory: nothing to list, the walk goes on
        return []


def _walk_dir(root: str, rel: str, include_hidden: bool, visited: set[str],
              explicit: set[tuple[int, int]]) -> Iterator[tuple[str, str]]:
    """Depth-first, name-sorted walk: the yield order is the order of path-component tuples."""
    directory = os.path.join(root, rel) if rel else root
    for entry in _sorted_entries(directory):
        if not include_hidden and entry.name.startswith("."):
            continue
        child = os.path.join(rel, entry.name) if rel else entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            real = _real_dir(entry.path)
            if real in visited:  # symlink loop, or a tree already walked from another root
                continue
            visited.add(real)
            yield from _walk_dir(root, child, include_hidden, visited, explicit)
        elif _is_candidate(entry) and not (explicit and _file_id(entry.path) in explicit):
            yield root, child


def walk_root(root: str | os.PathLike[str]) -> str:
    """The ``root`` column value for a root argument: the absolute directory (a file's parent)."""
    path = os.path.abspath(os.fspath(root))
    return path if os.path.isdir(path) else os.path.dirname(path)


def iter_image_files(roots: Iterable[str | os.PathLike[str]],
                     include_hidden: bool = False) -> Iterator[tuple[str, str]]:
    """Yield ``(root, relpath)`` for every image file under ``roots``, in a deterministic order.

    Parameters
    ----------
    roots : directories to walk recursively, or single files. Roots are walked in the given
        order; inside a directory, entries are visited sorted by name, depth first.
    include_hidden : also list names starting with ``.`` (and walk such directories).

    Yields
    ------
    tuple of str
        ``root`` is the absolute directory (a file root yields its parent directory) and
        ``relpath`` the path below it. A directory file is a candidate when its extension is
        a known image extension (any case) or, without one, when its first bytes look like
        an image. A file given explicitly as a root is always listed.

    Raises
    ------
    FileNotFoundError
        When a root does not exist.

    Notes
    -----
    Symbolic links are followed; directories are tracked by their real path so a link
    loop, or a root nested inside another root, is walked only once. A file is never
    listed twice when it is both a root and inside a walked root.
    """
    roots = [os.path.abspath(os.fspath(r)) for r in roots]
    require_roots(roots)
    file_ids = {r: _file_id(r) for r in roots if not os.path.isdir(r)}  # file roots, by identity
    explicit: set[tuple[int, int]] = {fid for fid in file_ids.values() if fid}
    visited: set[str] = set()
    listed_files: set[tuple[int, int]] = set()
    for root in roots:
        if root not in file_ids:
            real = _real_dir(root)
            if real not in visited:
                visited.add(real)
                yield from _walk_dir(root, "", include_hidden, visited, explicit)
            continue
        fid = file_ids[root]
        if fid is not None and fid in listed_files:
            continue
        if fid is not None:
            listed_files.add(fid)
        yield os.path.dirname(root), os.path.basename(root)


def require_roots(roots: Iterable[str]) -> None:
    """Raise FileNotFoundError for the first root that does not exist."""
    for root in roots:
        if not os.path.exists(root):
            raise FileNotFoundError(f"no such file or directory: {root}")


def walk_order_key(roots: Iterable[str | os.PathLike[str]]) -> Callable[[str, str], tuple[int, str, tuple[str, ...]]]:
    """A ``key(root, path)`` that sorts rows in :func:`iter_image_files` order.

    Rows of roots not in ``roots`` sort last, by root. Several file roots in one directory
    sort by name (the walk lists them in argument order).
    """
    order: dict[str, int] = {}
    for root in roots:
        order.setdefault(walk_root(root), len(order))

    def key(root: str, path: str) -> tuple[int, str, tuple[str, ...]]:
        return order.get(root, len(order)), root, tuple(path.split(os.sep))

    return key


def display_path(root: str, path: str, cwd: str | None = None) -> str:
    """A safe one-line rendering of ``root/path`` for terminals and logs.

    The path is shown relative to ``cwd`` (default: the current directory) when it lies
    below it. Control characters (newlines, escape sequences) and bytes that are not
    valid UTF-8 are shown as backslash escapes, so a hostile name cannot forge output lines
    or drive the terminal.
    """
    full = os.path.join(root, path)
    base = cwd if cwd is not None else os.getcwd()
    rel = os.path.relpath(full, base)
    shown = full if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel
    return printable(shown)


def printable(text: str) -> str:
    """Escape control characters and undecodable bytes (surrogate escapes) of ``text``."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by os.fsdecode
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code <= 0xDFFF:
            out.append(ch.encode("unicode_escape").decode("ascii") if code < 0xD800 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
