"""Deterministic discovery of image files under one or more roots.

Every path is treated as hostile: names may hold spaces, newlines, markup, CSV
metacharacters or bytes that are not valid UTF-8 (kept as surrogate escapes, so
``os.path.join(root, path)`` still opens the file).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

from iqa.auditor.imaging import IMAGE_EXTENSIONS
from iqa.auditor.safe_open import open_regular

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
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
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


@dataclass
class WalkStats:
    """What a walk left out, by reason (counted while the walk runs).

    Attributes
    ----------
    hidden : names starting with ``.`` (files and folders, not what is inside them).
    not_image : regular files with no image extension whose first bytes are no image either.
    not_regular : FIFOs, sockets, devices and dangling links.
    unreadable_dirs : folders that could not be listed.
    linked_inside : directory links whose target is walked under its own path anyway.
    """

    hidden: int = 0
    not_image: int = 0
    not_regular: int = 0
    unreadable_dirs: int = 0
    linked_inside: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())


def _sniff_file(path: str) -> bool:
    try:
        with open_regular(path, max_bytes=None) as fh:  # never blocks, even if it became a FIFO
            return sniff_image(fh.read(SNIFF_BYTES))
    except OSError:
        return False


def _is_regular_file(entry: os.DirEntry) -> bool:
    # Only regular files: opening a FIFO or a device would block or never end.
    try:
        return entry.is_file(follow_symlinks=True)
    except OSError:
        return False


def _real_dir(path: str) -> str:
    return os.path.realpath(path)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _sorted_entries(directory: str, stats: WalkStats) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:  # unreadable directory: nothing to list, the walk goes on
        stats.unreadable_dirs += 1
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _inside_walked_tree(real: str, tree_roots: Sequence[str], include_hidden: bool) -> bool:
    """True when ``real`` lies in a walked root where the walk reaches it under its own path."""
    for top in tree_roots:
        rel = os.path.relpath(real, top)
        if rel == os.curdir or rel.startswith(os.pardir):
            continue
        return include_hidden or not any(part.startswith(".") for part in rel.split(os.sep))
    return False


@dataclass
class _Walk:
    root: str
    include_hidden: bool
    visited: set[tuple[int, int]]
    explicit: set[tuple[int, int]]
    tree_roots: Sequence[str]
    stats: WalkStats

    def files(self) -> Iterator[tuple[str, str]]:
        """Depth-first, name-sorted walk with an explicit stack (no recursion limit on depth):
        the yield order is the order of path-component tuples."""
        stack = [("", iter(_sorted_entries(self.root, self.stats)))]
        while stack:
            rel, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            if not self.include_hidden and entry.name.startswith("."):
                self.stats.hidden += 1
                continue
            child = os.path.join(rel, entry.name) if rel else entry.name
            if _is_dir(entry):
                if self._descend(entry):
                    stack.append((child, iter(_sorted_entries(entry.path, self.stats))))
            elif self._is_candidate(entry):
                yield self.root, child

    def _descend(self, entry: os.DirEntry) -> bool:
        # Identity by (device, inode) from the cached stat: realpath costs one lstat per path
        # component, quadratic in the depth of the tree.
        if entry.is_symlink() and _inside_walked_tree(_real_dir(entry.path), self.tree_roots, self.include_hidden):
            self.stats.linked_inside += 1  # its rows come under the real folder's own path
            return False
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) in self.visited:  # symlink loop, or a tree already walked from another root
            return False
        self.visited.add((st.st_dev, st.st_ino))
        return True

    def _is_candidate(self, entry: os.DirEntry) -> bool:
        if not _is_regular_file(entry):
            self.stats.not_regular += 1
            return False
        if not (has_image_extension(entry.name) or _sniff_file(entry.path)):
            self.stats.not_image += 1
            return False
        return not (self.explicit and _file_id(entry.path) in self.explicit)


def walk_root(root: str | os.PathLike[str]) -> str:
    """The ``root`` column value for a root argument: the absolute directory (a file's parent)."""
    if is_url(os.fspath(root)):
        from iqa.auditor.remote import url_root

        return url_root(os.fspath(root))
    path = os.path.abspath(os.path.expanduser(os.fspath(root)))
    return path if os.path.isdir(path) else os.path.dirname(path)


def iter_image_files(roots: Iterable[str | os.PathLike[str]], include_hidden: bool = False,
                     stats: WalkStats | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(root, relpath)`` for every image file under ``roots``, in a deterministic order.

    Parameters
    ----------
    roots : directories to walk recursively, or single files. Roots are walked in the given
        order; inside a directory, entries are visited sorted by name, depth first.
    include_hidden : also list names starting with ``.`` (and walk such directories).
    stats : counts what the walk leaves out, updated while it runs.

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
    loop, or a root nested inside another root, is walked only once. A directory link whose
    target the walk reaches under its own path anyway is not followed, so those files are
    listed under their real path. A file is never listed twice when it is both a root and
    inside a walked root. The walk is iterative: any depth of nesting works.
    """
    roots = [r if is_url(r) else os.path.abspath(os.path.expanduser(r)) for r in map(os.fspath, roots)]
    require_roots(roots)
    stats = stats if stats is not None else WalkStats()
    file_ids = {r: _file_id(r) for r in roots if not is_url(r) and not os.path.isdir(r)}  # file roots, by identity
    explicit: set[tuple[int, int]] = {fid for fid in file_ids.values() if fid}
    tree_roots = [_real_dir(r) for r in roots if r not in file_ids and not is_url(r)]
    visited: set[tuple[int, int]] = set()
    listed_files: set[tuple[int, int]] = set()
    for root in roots:
        if is_url(root):  # fsspec URL (s3://, file://, ...): listed through fsspec
            from iqa.auditor.remote import iter_url_files

            yield from iter_url_files(root, include_hidden)
            continue
        if root not in file_ids:
            real = _file_id(root)
            if real is not None and real not in visited:
                visited.add(real)
                yield from _Walk(root, include_hidden, visited, explicit, tree_roots, stats).files()
            continue
        fid = file_ids[root]
        if fid is not None and fid in listed_files:
            continue
        if fid is not None:
            listed_files.add(fid)
        yield os.path.dirname(root), os.path.basename(root)


def is_url(root: str) -> bool:
    """True when ``root`` is an fsspec URL (``scheme://...``); a local path that exists stays a path."""
    return bool(_URL.match(root)) and not os.path.exists(root)


def _url_exists(root: str) -> bool:
    from iqa.auditor.remote import url_exists

    return url_exists(root)


def require_roots(roots: Iterable[str]) -> None:
    """Raise FileNotFoundError for the first root that does not exist (URL roots are asked through fsspec)."""
    for root in roots:
        if not (_url_exists(root) if is_url(root) else os.path.exists(os.path.expanduser(root))):
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
