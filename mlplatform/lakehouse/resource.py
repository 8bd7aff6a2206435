"""The `lakehouse` resource: where the platform's data lives and which engine computes tables.

Asset bodies, checks and sensors receive it as a typed parameter (``lakehouse:
LakehouseResource``) and read ``lakehouse.settings``. A field left unset takes the environment's
value when the run (or sensor tick) starts, not when the definitions are imported: the graph is
the same whatever the environment variables are at import. ``definitions.py`` chooses the
resource per environment.
"""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
from pydantic import Field

from mlplatform.settings import (
    ENGINES,
    ENVIRONMENTS,
    Settings,
    SettingsError,
    get_settings,
    home_folder,
    table_root,
)
from mlplatform.settings.variables import LAKEHOUSE

RESOURCE_KEY = "lakehouse"


class LakehouseResource(dg.ConfigurableResource):
    """The data home (landing files, MLflow's embedded store, the Dagster instance), the table
    root and its storage options, the environment and the table engine."""

    home: str | None = Field(
        default=None,
        description="A local folder or file:// URI. Default: MLPLATFORM_HOME, else ./.mlplatform.",
    )
    env: str | None = Field(
        default=None, description="dev, staging or prod. Default: MLPLATFORM_ENV, else dev."
    )
    engine: str | None = Field(
        default=None,
        description="polars or spark: the engine of every table asset whose run config names "
        "none. Default: MLPLATFORM_ENGINE, else polars.",
    )
    lakehouse: str | None = Field(
        default=None,
        description="The table root: a path, file:// URI or object-store URI (s3://, gs://, "
        "az://, abfss://). Default: MLPLATFORM_LAKEHOUSE, else <home>/lakehouse.",
    )
    storage_options: dict[str, str] | None = Field(
        default=None,
        description="deltalake storage options of an object-store root. Default: "
        "MLPLATFORM_STORAGE_OPTIONS (keep keys there, in the environment: resource config is "
        "shown in the UI).",
    )

    @property
    def settings(self) -> Settings:
        """The settings with this resource's fields over the environment's values."""
        base = get_settings()
        changes: dict = {}
        if self.home:
            changes["home"] = home_folder(self.home)
        if self.lakehouse or self.storage_options is not None:
            options = base.storage_options if self.storage_options is None else self.storage_options
            root = self.lakehouse or LAKEHOUSE.value()
            changes["storage_options"] = dict(options)
            changes["lakehouse_root"] = table_root(root, dict(options))
        if self.env:
            if self.env not in ENVIRONMENTS:
                raise SettingsError(
                    f"lakehouse resource env={self.env!r} is not an environment; use one of "
                    f"{', '.join(ENVIRONMENTS)}"
                )
            changes["env"] = self.env
        if self.engine:
            if self.engine not in ENGINES:
                raise SettingsError(
                    f"lakehouse resource engine={self.engine!r} is not an engine; use one of "
                    f"{', '.join(ENGINES)}"
                )
            changes["engine"] = self.engine
        return replace(base, **changes) if changes else base
