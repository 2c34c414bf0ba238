"""Life of a decoding worker process: it dies with its parent and never re-runs a user's audit.

Spawned workers outlive a parent killed with SIGKILL (they wait on a pipe the parent's
death does not close), and a script without an ``if __name__ == "__main__":`` guard is
re-imported by every spawned worker, which would start an audit of its own there.
"""
from __future__ import annotations

import os

WORKER_REIMPORT_EXIT = 3  # exit status of a worker that found itself re-running a script's audit
# glibc's malloc options (mallopt): a worker allocates and frees the same few image-sized buffers
# per file; above the default 128 KiB threshold each one is a fresh mmap the kernel must fault in
# and zero (a sixth of a 640x480 file's CPU time went to the kernel).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
HEAP_UP_TO_BYTES = 16 << 20  # buffers below this come from the reused heap
KEEP_FREED_BYTES = 64 << 20  # freed heap kept for the next file, at most (bounded RSS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by someone else
        return True
    return True


def reuse_freed_memory() -> bool:
    """Have glibc keep freed image buffers for the next file instead of unmapping them.

    Returns True when the options were set (glibc); elsewhere nothing changes.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, HEAP_UP_TO_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


def die_with_parent() -> None:
    """A parent killed with SIGKILL cannot stop its workers: have the kernel kill them (Linux), or
    poll for the parent's exit (elsewhere, and for workers forked by a fork server, whose process
    parent is the server rather than the audit)."""
    import multiprocessing

    # The parent's pid as the parent itself recorded it: a worker still importing when the parent
    # was killed would otherwise read the reaper's pid here and never notice.
    known = multiprocessing.parent_process()
    parent = known.pid if known is not None and known.pid else os.getppid()
    if not _alive(parent) or os.getppid() == 1:
        os._exit(1)
    watched = os.getppid() != parent  # forked by a fork server: the kernel only watches the server
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, 9, 0, 0, 0) == 0 and not watched:  # PR_SET_PDEATHSIG, SIGKILL
            if not _alive(parent):  # the parent died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass
    import threading
    import time

    def watch() -> None:
        while _alive(parent):
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="iqa-parent-watch", daemon=True).start()


def refuse_in_bootstrapping_child() -> None:
    """Exit quietly when a spawned worker re-imports a script that audits at import time.

    A script without an ``if __name__ == "__main__":`` guard is re-run by every spawned
    worker; its audit call must not start a pool of its own there (it never could: the
    child is still starting). The parent sees the workers exit and decodes in-process.
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(WORKER_REIMPORT_EXIT)
