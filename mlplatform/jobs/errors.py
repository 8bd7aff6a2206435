"""The errors of the jobs package."""

from __future__ import annotations


class JobSpecError(ValueError):
    """A job's settings a user wrote wrong: the message names the source and the key path
    (`job.json: tasks[1].spark_jar_task: ...`)."""

    @property
    def key(self) -> str:
        """The key path the message names (`tasks[1].spark_jar_task`), for a caller that maps
        it to a file and line (a bundle's `resources.jobs.<key>.` + this); "" if none."""
        parts = str(self).split(": ")
        return parts[1].split(" ")[0] if len(parts) > 2 else ""


class TaskValueError(ValueError):
    """A task value that cannot be stored (not JSON, over 48 KiB) or found."""


class ReferenceError_(ValueError):
    """A dynamic value reference (`{{...}}`) that names nothing known."""
