"""``IQA_TIMINGS=1``: phase stamps on stderr for the benchmarks (standard library only)."""
from __future__ import annotations

import os
import sys
import time


def timing(event: str) -> None:
    """With ``IQA_TIMINGS`` set, one ``iqa-timing EVENT UNIX_TIME`` line on stderr (read by the benchmarks)."""
    if os.environ.get("IQA_TIMINGS"):
        print(f"iqa-timing {event} {time.time():.6f}", file=sys.stderr, flush=True)
