"""iqa: batch image-quality auditor. The command line and the audit-into-a-folder job live here.

The libraries are its sub-packages: ``iqa.auditor`` (imaging core, inference, walk, worker engine,
pipeline, check), ``iqa.dataset``, ``iqa.trainer``, ``iqa.reports`` and ``iqa.models``. An installed
wheel holds them inside this package (setup.cfg's ``package_dir``); in the repository they are the
folders beside ``iqa/`` (``auditor/``, ``dataset/``, ...), found through ``__path__`` below, so the
tests and ``python -m iqa`` run from a checkout without any install.
"""
from __future__ import annotations

import os as _os

_HERE = _os.path.dirname(_os.path.abspath(__file__))
_CHECKOUT = _os.path.dirname(_HERE)
if not _os.path.isdir(_os.path.join(_HERE, "auditor")) and _os.path.isfile(
        _os.path.join(_CHECKOUT, "auditor", "__init__.py")):
    __path__.append(_CHECKOUT)  # the repository layout: iqa.auditor is ../auditor

from iqa.auditor import __version__  # noqa: E402

__all__ = ["__version__"]
