"""The local Dagster instance under $MLPLATFORM_HOME/dagster."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlplatform.settings import Settings

_REPO_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"


def ensure_dagster_home(settings: Settings) -> Path:
    """Create $MLPLATFORM_HOME/dagster with the project's dagster.yaml (kept if already there)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(_REPO_DAGSTER_YAML, target)
    return home
