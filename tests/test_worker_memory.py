"""Workers keep freed image buffers for the next file (glibc): far fewer page faults per file."""
from __future__ import annotations

import subprocess
import sys

import pytest

# Allocate and free a few 640x480 RGB images' worth of memory many times, as a worker does per
# file, and report the minor page faults that cost (each fresh mmap is faulted in and zeroed).
_SCRIPT = """
import resource, sys
import numpy as np
from iqa.auditor.worker_life import reuse_freed_memory
if sys.argv[1] == "on" and not reuse_freed_memory():
    print("unsupported"); raise SystemExit
np.ones((480, 640, 3), np.uint8)  # warm-up: numpy's own first allocations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    three = [np.ones((480, 640, 3), np.uint8) for _ in range(3)]  # freed together: the heap top is trimmed
    del three
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_reused_buffers_are_not_faulted_in_again() -> None:
    on = _faults("on")
    if on == "unsupported":
        pytest.skip("not glibc: the allocator options do not exist")
    off = int(_faults("off"))
    assert off > 200 * 200  # without it, the three 900 KB buffers are faulted in again every time
    assert int(on) < off / 10


def test_pool_workers_apply_it() -> None:
    if _faults("on") == "unsupported":
        pytest.skip("not glibc: the allocator options do not exist")
    from iqa.auditor.engine import ProcessPool

    (faults,) = ProcessPool(1, timeout=60).map_ordered(_worker_faults, [200], lambda item, reason: -1)
    assert 0 <= faults < 200 * 20  # without the setting: about 400 per round


def _worker_faults(count: int) -> int:
    import resource

    import numpy as np

    np.ones((480, 640, 3), np.uint8)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        three = [np.ones((480, 640, 3), np.uint8) for _ in range(3)]
        del three
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
