"""Audit and training reports (HTML, plots, CSV). Submodules are imported on demand."""
