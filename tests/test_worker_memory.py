"""Workers keep freed image buffers for the next file (glibc): far fewer page faults per file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROUNDS = 200

# A fresh interpreter, with or without the setting, runs the same loop as the pool worker below.
_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[2])
from iqa.auditor.worker_life import reuse_freed_memory
from test_worker_memory import ROUNDS, _worker_faults
if sys.argv[1] == "on" and not reuse_freed_memory():
    print("unsupported"); raise SystemExit
print(_worker_faults(ROUNDS))
"""


def _faults(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode, str(Path(__file__).parent)],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _worker_faults(count: int) -> int:
    """Minor page faults of allocating and freeing three 640x480 RGB images ``count`` times, as a
    worker does per file (each fresh mmap is faulted in and zeroed)."""
    import resource

    import numpy as np

    np.ones((480, 640, 3), np.uint8)  # warm-up: numpy's own first allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        three = [np.ones((480, 640, 3), np.uint8) for _ in range(3)]  # freed together: the heap top is trimmed
        del three
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_reused_buffers_are_not_faulted_in_again() -> None:
    on = _faults("on")
    if on == "unsupported":
        pytest.skip("not glibc: the allocator options do not exist")
    off = int(_faults("off"))
    assert off > ROUNDS * 200  # without it, the three 900 KB buffers are faulted in again every time
    assert int(on) < off / 10


def test_pool_workers_apply_it() -> None:
    if _faults("on") == "unsupported":
        pytest.skip("not glibc: the allocator options do not exist")
    from iqa.auditor.engine import ProcessPool

    (faults,) = ProcessPool(1, timeout=60).map_ordered(_worker_faults, [ROUNDS], lambda item, reason: -1)
    assert 0 <= faults < ROUNDS * 20  # without the setting: about 400 per round
