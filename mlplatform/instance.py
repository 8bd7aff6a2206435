"""The local Dagster instance under $MLPLATFORM_HOME/dagster."""

from __future__ import annotations

import fcntl
from importlib.resources import files
from pathlib import Path

from mlplatform.settings import Settings

INSTANCE_TEMPLATE = files("mlplatform") / "templates" / "dagster.yaml"
"""The instance configuration shipped with the package (the repository's dagster.yaml)."""


def ensure_dagster_home(settings: Settings) -> Path:
    """Create $MLPLATFORM_HOME/dagster with the packaged dagster.yaml (kept if already there)
    and its storage, once, under a lock: two first runs at once would otherwise both migrate the
    fresh sqlite databases and leave them broken ('more than one head present')."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        target = home / "dagster.yaml"
        if not target.exists():
            target.write_bytes(INSTANCE_TEMPLATE.read_bytes())
        marker = home / ".initialized"
        if not marker.exists():
            initialize_storage(home)
            marker.touch()
    return home


def initialize_storage(home: Path) -> None:
    """Open the instance once: that creates and migrates its run, event and schedule storage."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs_count()
        instance.get_latest_materialization_event(dg.AssetKey("mlplatform_init"))
