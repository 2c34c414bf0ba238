"""Per-file capture of what decoders say: Python warnings and C libraries' writes to fd 2.

Pillow raises ``UserWarning`` for odd files and libtiff, libjpeg or libheif print to the
process's stderr; on the terminal that breaks the progress bar and says nothing about
which file it was. :class:`Capture` collects both around one file's decode so the text
lands in that file's row instead.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

NOTE_LIMIT = 300  # characters of captured text kept per file


class Capture:
    """Collect warnings and fd-2 output of the blocks run under it (one file per block).

    Reuses one temporary file for fd 2; when fd 2 cannot be redirected (closed, no
    temporary directory) only Python warnings are collected.
    """

    def __init__(self) -> None:
        self._tmp: IO[bytes] | None = None
        try:
            self._tmp = tempfile.TemporaryFile()
        except OSError:
            self._tmp = None
        atexit.register(self.close)

    @contextmanager
    def __call__(self) -> Iterator[list[str]]:
        """Run the block with warnings recorded and fd 2 redirected; the list gets the notes at exit."""
        notes: list[str] = []
        saved = self._redirect()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield notes
        finally:
            text = self._restore(saved)
            notes.extend(_clean(f"{w.category.__name__}: {w.message}") for w in caught)
            if text:
                notes.append(_clean(text))

    def _redirect(self) -> int | None:
        if self._tmp is None:
            return None
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            return None
        self._tmp.seek(0)
        self._tmp.truncate()
        os.dup2(self._tmp.fileno(), 2)
        return saved

    def _restore(self, saved: int | None) -> str:
        if saved is None or self._tmp is None:
            return ""
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        self._tmp.seek(0)
        return self._tmp.read(4 * NOTE_LIMIT).decode("utf-8", "replace")

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.close()
            self._tmp = None


def _clean(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def join_notes(notes: list[str]) -> str:
    """One cell of distinct notes, in order, separated by ``; `` and bounded in length."""
    return "; ".join(dict.fromkeys(n for n in notes if n))[:NOTE_LIMIT]


class FileTimeout(Exception):
    """One file took longer than its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`FileTimeout` in the block after ``seconds`` (0: no limit).

    A ``SIGALRM`` timer, so it works only in the main thread (elsewhere the block runs
    unlimited); the exception is raised when the interpreter next runs Python code, which
    Pillow's decoders (fed in chunks) do continually.
    """
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FileTimeout(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
