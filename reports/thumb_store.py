"""The workers' thumbnails during a run: in memory while shown, in a temporary file otherwise.

Bursts and near-duplicates are grouped only once the run is over (they need every row), so
while the audit runs nobody knows which frames the report's burst strips will show. Keeping
every thumbnail in memory would grow with the folder; dropping them meant decoding each shown
frame again at the end (seconds for a folder of bursts). The store keeps the thumbnails of rows
shown *now* in memory and appends every other one to an anonymous temporary file (deleted when
closed, or when the process dies), indexed by ``(root, path)``: memory stays small, the report
decodes no photo twice. Past :attr:`ThumbStore.max_spill_bytes` the rest are dropped (then the
report reads those files again, as it always could).
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import IO

Key = tuple[str, str]


class ThumbStore:
    """JPEG thumbnails by ``(root, path)``: :meth:`keep` in memory, :meth:`spill` to disk, :meth:`get` either.

    Each entry holds the thumbnail and, optionally, a small one (the tables' size) written right
    after it, so both cost one index entry.
    """

    max_spill_bytes = 1 << 30

    def __init__(self) -> None:
        self._memory: dict[Key, tuple[bytes, bytes | None]] = {}
        self._index: dict[Key, tuple[int, int, int]] = {}  # offset, length, small thumbnail's length
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def in_memory(self) -> int:
        """How many thumbnails are held in memory (the spilled ones are not counted)."""
        return len(self._memory)

    def keep(self, key: Key, jpeg: bytes, small: bytes | None = None) -> None:
        """Hold ``jpeg`` (and ``small``) in memory (the row is shown now)."""
        self._memory[key] = (jpeg, small)

    def spill(self, key: Key, jpeg: bytes, small: bytes | None = None) -> None:
        """Append ``jpeg`` (and ``small``) to the temporary file (the row may be shown later)."""
        size = len(jpeg) + len(small or b"")
        if key in self._index or self._spilled + size > self.max_spill_bytes:
            return
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="iqa-thumbs-")
            self._file.seek(0, 2)
            offset = self._file.tell()
            self._file.write(jpeg + small if small else jpeg)
        except OSError:  # no room in the temp folder: the report reads that file again
            return
        self._index[key] = (offset, len(jpeg), len(small or b""))
        self._spilled += size

    def retain_only(self, live: Iterable[Key]) -> None:
        """Keep in memory only the ``live`` keys; the others go to the temporary file."""
        live = set(live)
        for key in [k for k in self._memory if k not in live]:
            self.spill(key, *self._memory.pop(key))

    def get(self, key: Key, default: bytes | None = None, *, small: bool = False) -> bytes | None:
        """The thumbnail of ``key`` (the small one with ``small``) from memory or from the file;
        ``default`` when there is none."""
        found = self._memory.get(key)
        if found is not None:
            return (found[1] if small else found[0]) or default
        where = self._index.get(key)
        if where is None or self._file is None:
            return default
        offset, length, small_length = where
        if small:
            if not small_length:
                return default
            offset, length = offset + length, small_length
        try:
            self._file.seek(offset)
            data = self._file.read(length)
        except OSError:
            return default
        return data if len(data) == length else default

    def close(self) -> None:
        """Delete the temporary file (the store still answers from memory)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._index.clear()
