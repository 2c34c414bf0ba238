"""Defaults shared by the auditor, the dataset builder, training and the CLI, defined once.

No imports, so the command line can use them in its option declarations for free.
"""
from __future__ import annotations

from typing import Final

MAX_SIDE: Final = 1024  # long side of the analysis scale, in pixels (images are never upscaled)
PATCH_SIZE: Final = 64  # side of a patch, in pixels at analysis scale
TRAINING_PATCH_COUNT: Final = 24  # most textured patches cut per training image (the audit reads fewer)
