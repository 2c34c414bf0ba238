"""Roots given as fsspec URLs (``s3://bucket/prefix``, ``gs://...``, ``file://...``, ``memory://``).

The walk lists keys through fsspec with the rules of :mod:`auditor.walk` (sorted by path
components, hidden names skipped, image extension or magic bytes), and the workers fetch
each file's bytes themselves (:func:`read_file`), so nothing travels through the parent.
fsspec (and the backend of the protocol, e.g. ``s3fs``) is imported only when a URL root
is used; credentials and endpoints come from the usual places of that backend (for S3:
``AWS_*`` variables, ``~/.aws``, or ``FSSPEC_S3_*`` variables, see the fsspec docs).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iqa.auditor.walk import SNIFF_BYTES, has_image_extension, is_url, sniff_image

# Past this size a remote file is an error row, not a multi-gigabyte download into a worker.
MAX_REMOTE_BYTES = 512 * 1024 * 1024


__all__ = ["MAX_REMOTE_BYTES", "RemoteReadError", "is_url", "iter_url_files", "read_file", "url_exists", "url_root"]


class RemoteReadError(OSError):
    """A remote file that cannot be read; the message is a short human reason."""


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("URL roots need fsspec: pip install 'iqa[s3]'") from exc
    return fsspec.core.url_to_fs(url)


def url_root(url: str) -> str:
    """The ``root`` column value of a URL root: the URL itself, or a file's parent, without a trailing slash."""
    fs, path = _fs(url)
    trimmed = url.rstrip("/")
    if fs.isfile(path):
        return trimmed.rsplit("/", 1)[0]
    return trimmed


def url_exists(url: str) -> bool:
    """True when the URL names an existing file or a non-empty prefix (a directory)."""
    fs, path = _fs(url)
    try:
        return bool(fs.exists(path))
    except OSError:
        return False


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def _sniff(fs: Any, path: str) -> bool:
    try:
        return sniff_image(fs.cat_file(path, start=0, end=SNIFF_BYTES))
    except OSError:
        return False


def iter_url_files(url: str, include_hidden: bool = False) -> Iterator[tuple[str, str]]:
    """Yield ``(root, relpath)`` for every image under a URL, in :func:`auditor.walk.iter_image_files` order.

    ``relpath`` uses ``/``; keys are sorted by their path components (the order of a
    depth-first, name-sorted walk). A URL that names one file yields its parent and its name.
    """
    fs, path = _fs(url)
    root = url.rstrip("/")
    if fs.isfile(path):
        parent, name = root.rsplit("/", 1)
        yield parent, name
        return
    base = path.rstrip("/")
    names = [found[len(base) + 1:] for found in fs.find(base, withdirs=False) if found.startswith(base + "/")]
    for rel in sorted(names, key=lambda r: tuple(r.split("/"))):
        if not include_hidden and _hidden(rel):
            continue
        if has_image_extension(rel) or _sniff(fs, f"{base}/{rel}"):
            yield root, rel


def read_file(root: str, path: str, limit: int = MAX_REMOTE_BYTES) -> bytes:
    """The bytes of ``root/path`` (a URL root), fetched in one request.

    Raises
    ------
    RemoteReadError
        Missing, not a file, larger than ``limit`` bytes, or unreadable.
    """
    fs, full = _fs(f"{root}/{path}")
    try:
        info = fs.info(full)
    except FileNotFoundError as exc:
        raise RemoteReadError("file not found") from exc
    except OSError as exc:
        raise RemoteReadError(f"cannot read: {type(exc).__name__}: {exc}"[:200]) from exc
    if info.get("type") != "file":
        raise RemoteReadError("not a regular file")
    size = info.get("size") or 0
    if size > limit:
        raise RemoteReadError(f"file too large ({size} bytes)")
    try:
        return fs.cat_file(full)
    except OSError as exc:
        raise RemoteReadError(f"cannot read: {type(exc).__name__}: {exc}"[:200]) from exc
