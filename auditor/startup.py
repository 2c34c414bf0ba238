"""How worker processes start: a fork server that preloads their libraries, a light ``__main__``.

Standard library only, so ``iqa audit`` can start the fork server first thing and the server
imports the workers' libraries while the parent imports its own.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# What the audit's fork server imports once, before it forks each worker (a spawned worker
# imports it all itself, once per worker)
AUDIT_PRELOAD: tuple[str, ...] = ("iqa.auditor.workers", "iqa.auditor.model", "ai_edge_litert.interpreter")


def start_method(light: bool = False, preload: Sequence[str] = ()) -> str:
    """The start method of a pool's workers; never a plain fork of the parent, unless it must.

    * ``preload`` and a platform with one: "forkserver", a fresh single-threaded interpreter
      that imports ``preload`` once and forks every worker from itself (no interpreter start
      and no imports per worker);
    * otherwise "spawn" (a fork would copy the parent's threads' locks mid-state), except when
      ``__main__`` is code that is no file (``python -``) and ``light`` is off: a spawned
      worker re-imports ``__main__`` by path and would die at start, so "fork".
    """
    if preload and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    main = sys.modules.get("__main__")
    if not light and getattr(getattr(main, "__spec__", None), "name", None) is None:
        path = getattr(main, "__file__", None)
        if path is not None and not os.path.isfile(path) and "fork" in multiprocessing.get_all_start_methods():
            return "fork"
    return "spawn"


def worker_context(light: bool = False, preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the workers, its fork server (if any) set to preload."""
    ctx = multiprocessing.get_context(start_method(light, preload))
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(list(preload))  # used when the server starts (once per parent)
    return ctx


def start_fork_server(preload: Sequence[str] = AUDIT_PRELOAD) -> None:
    """Start the fork server now, so it imports the workers' libraries in parallel with the caller.

    Idempotent; every pool of ``preload`` calls it first. The server is born ignoring SIGINT
    and SIGTERM: a Ctrl-C or ``kill`` of the process group must not take it down while the
    parent's pool still forks workers from it (it exits by itself when the parent is gone).
    Its workers inherit both and restore SIGTERM in their initializer.
    """
    import signal
    import threading

    if worker_context(True, preload).get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():  # only it may change signal actions
        with light_main():
            forkserver.ensure_running()
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with light_main():
            forkserver.ensure_running()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def light_main() -> Iterator[None]:
    """While workers (or the fork server) start, make ``__main__`` a module that imports nothing.

    A spawned worker first re-imports the parent's ``__main__``: for the ``iqa`` script or
    ``python -m iqa`` that is click and the whole CLI, in every worker and before its first
    file. The workers need only the module of their work function, which they import to
    unpickle their tasks. (A worker the pool replaces later sees the real ``__main__``:
    slower to start, same result.) Work functions defined in ``__main__`` then cannot be used.
    """
    from iqa.auditor import _worker_main

    real = sys.modules.get("__main__")
    if real is None:
        yield
        return
    sys.modules["__main__"] = _worker_main
    try:
        yield
    finally:
        sys.modules["__main__"] = real
