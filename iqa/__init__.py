"""iqa: batch image-quality auditor. The command line and the audit-into-a-folder job live here.

The libraries are the packages below it: ``auditor`` (imaging core, inference, walk, worker
engine, pipeline, check), ``dataset``, ``trainer`` and ``reports``.
"""
from __future__ import annotations

from auditor import __version__

__all__ = ["__version__"]
