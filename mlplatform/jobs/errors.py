"""The errors of the jobs package."""

from __future__ import annotations


class JobSpecError(ValueError):
    """A job's settings a user wrote wrong: the message names the source and the key path."""


class TaskValueError(ValueError):
    """A task value that cannot be stored (not JSON, over 48 KiB) or found."""


class ReferenceError_(ValueError):
    """A dynamic value reference (`{{...}}`) that names nothing known."""
