"""The error of a setting mlplatform cannot use."""

from __future__ import annotations


class SettingsError(ValueError):
    """An environment variable holds a value mlplatform cannot use."""
