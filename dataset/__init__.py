"""Labelled training data from folders of good photos (builds on ``auditor``'s imaging core)."""
