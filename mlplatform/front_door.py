"""Loud warnings when a Dagster command loads the definitions somewhere a user did not mean.

`dagster asset materialize` without `DAGSTER_HOME` runs on a temporary instance (deleted at exit:
the UI never sees the run, and the run queue, pools and limits of dagster.yaml do not hold), and
from another folder `MLPLATFORM_HOME` defaults to that folder's empty `./.mlplatform`. Both work,
so the command goes on, but it says so on stderr, naming the folder and what to set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlplatform.settings.variables import HOME

_EPHEMERAL_COMMANDS = {("asset", "materialize"), ("job", "execute")}
"""Dagster commands that run on `DagsterInstance.get()`: ephemeral without DAGSTER_HOME."""
_CLIS = {"dagster", "dg", "dagster-webserver", "dagster-daemon"}


def _new_or_empty(home: Path) -> bool:
    """No landing file and no local table yet (a Dagster instance folder alone does not count)."""
    return not any(
        (home / folder).is_dir() and any((home / folder).iterdir())
        for folder in ("landing", "lakehouse")
    )


def load_warnings(argv: Sequence[str], environ: Mapping[str, str], home: Path) -> list[str]:
    """What to warn about when a process with `argv` and `environ` loads the definitions."""
    if not argv or Path(argv[0]).name not in _CLIS:
        return []  # a library import (a test, a notebook): nothing to say
    found = []
    if tuple(argv[1:3]) in _EPHEMERAL_COMMANDS and not environ.get("DAGSTER_HOME"):
        found.append(
            "mlplatform: warning: DAGSTER_HOME is not set, so this run uses a temporary Dagster "
            "instance that is deleted when the command ends: the UI never shows the run, and the "
            "run queue, table pools and run limits of dagster.yaml do not apply. Set "
            f"DAGSTER_HOME={home / 'dagster'} (mlplatform quickstart creates it)."
        )
    if _new_or_empty(home):
        where = (
            f"MLPLATFORM_HOME={home}"
            if HOME.raw(environ)
            else f"MLPLATFORM_HOME is not set, so the data home is ./.mlplatform of this folder, "
            f"{home}, which"
        )
        found.append(
            f"mlplatform: warning: {where} is new and empty (no landing files, no tables): the "
            "graph starts from nothing here. Set MLPLATFORM_HOME to your data home (the "
            "folder mlplatform quickstart filled), or run mlplatform quickstart to fill this one."
        )
    return found


def warn_on_load(home: Path) -> None:
    """Write `load_warnings` of this process to stderr."""
    for message in load_warnings(sys.argv, os.environ, home):
        sys.stderr.write(message + "\n")
    sys.stderr.flush()
