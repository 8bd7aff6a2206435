"""The settings of a process, built from the environment variables (the one environment switch).

`MLPLATFORM_HOME` is the root of everything the embedded default stores, `MLPLATFORM_ENV` selects
dev, staging or prod, `MLPLATFORM_ENGINE` selects the table engine, and `MLFLOW_TRACKING_URI`
overrides the embedded sqlite tracking store.

`MLPLATFORM_LAKEHOUSE` moves the Delta tables (and their ledgers) elsewhere: a path, a `file://`
URI, or an object-store URI (`s3://`, `gs://`, `az://`, `abfss://`) reached with the deltalake
storage options in `MLPLATFORM_STORAGE_OPTIONS` (a JSON object of strings). Dagster's and
MLflow's stores, the landing folder and the demo data stay under the local `MLPLATFORM_HOME`.

The settings own the table root: `Settings.location` turns text into a location with the
settings' storage options; `home_folder` and `table_root` check a home and a root given
elsewhere (the `lakehouse` resource's fields) the way the variables are checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from mlplatform.lakehouse.object_location import Location, ObjectLocation, is_object_uri
from mlplatform.settings.errors import SettingsError
from mlplatform.settings.variables import ENGINE, ENV, HOME, LAKEHOUSE, STORAGE_OPTIONS

ENVIRONMENTS = ("dev", "staging", "prod")
ENGINES = ("polars", "spark")


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its data and which environment and engine it runs."""

    home: Path
    env: str
    engine: str
    tracking_uri_override: str | None = None
    lakehouse_root: Location | None = None
    storage_options: dict[str, str] = field(default_factory=dict, hash=False, repr=False)

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lakehouse(self) -> Location:
        """The table root: ``MLPLATFORM_LAKEHOUSE``, else ``$MLPLATFORM_HOME/lakehouse``."""
        return self.lakehouse_root if self.lakehouse_root is not None else self.home / "lakehouse"

    @property
    def remote_lakehouse(self) -> bool:
        """Whether the tables live in an object store (not a local or mounted folder)."""
        return isinstance(self.lakehouse, ObjectLocation)

    @property
    def checkpoints(self) -> Location:
        """Ingestion and streaming ledgers (the equivalent of a checkpointLocation), beside the
        tables they guard: every run on every machine sees them."""
        return self.lakehouse / "_checkpoints"

    @property
    def plan_cache(self) -> Path:
        """A local folder for what a process may recompute (parsed query plans): beside the
        ledgers for a local root, under the home for an object-store root."""
        lakehouse = self.lakehouse
        if isinstance(lakehouse, ObjectLocation):
            return self.home / "cache" / "plans"
        return lakehouse / "_checkpoints"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def tracking_uri(self) -> str:
        if self.tracking_uri_override:
            return self.tracking_uri_override
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def artifact_location(self) -> str:
        return (self.mlflow_dir / "artifacts").as_uri()

    def table_path(self, layer: str, name: str) -> Location:
        """The table ``<layer>/<name>`` under the root: a ``Path`` for a local root, an
        ``ObjectLocation`` (a URI with the storage options) for an object store."""
        return self.lakehouse / layer / name

    def location(self, value: Location | str) -> Location:
        """A table location from a ``Path``, an ``ObjectLocation`` or text: an object-store URI
        in text gets these settings' storage options, other text is a local path."""
        if isinstance(value, (Path, ObjectLocation)):
            return value
        if is_object_uri(value):
            return ObjectLocation(value, tuple(sorted(self.storage_options.items())))
        return Path(value)


def home_folder(value: str) -> Path:
    """``MLPLATFORM_HOME`` as a local folder: a path or a ``file://`` URI (a folder that every
    Spark process sees, such as a shared mount)."""
    parsed = urlparse(value)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise SettingsError(
                f"MLPLATFORM_HOME={value!r}: a file:// URI names a local folder (file:///path)"
            )
        return Path(url2pathname(parsed.path)).resolve()
    if len(parsed.scheme) > 1:  # s3://, abfss://, gs://, hdfs:// (one letter: a Windows drive)
        raise SettingsError(
            f"MLPLATFORM_HOME={value!r}: the data home must be a local folder or a file:// URI; "
            f"{parsed.scheme}:// storage is not supported here (put the Delta tables there with "
            "MLPLATFORM_LAKEHOUSE, or mount it and use the mount's path)"
        )
    return Path(value).expanduser().resolve()


def table_root(value: str | None, options: dict[str, str]) -> Location | None:
    """``MLPLATFORM_LAKEHOUSE``: a local folder (path or ``file://`` URI) or an object-store URI."""
    if not value:
        return None
    if is_object_uri(value):
        if not value.partition("://")[2].strip("/"):
            raise SettingsError(f"MLPLATFORM_LAKEHOUSE={value!r} names no bucket or container")
        return ObjectLocation(value, tuple(sorted(options.items())))
    parsed = urlparse(value)
    if len(parsed.scheme) > 1 and parsed.scheme != "file":
        raise SettingsError(
            f"MLPLATFORM_LAKEHOUSE={value!r}: {parsed.scheme}:// is not a table root; use a "
            "path, a file:// URI or an object store (s3://, gs://, az://, abfss://)"
        )
    try:
        return home_folder(value)
    except SettingsError as err:
        raise SettingsError(str(err).replace("MLPLATFORM_HOME", "MLPLATFORM_LAKEHOUSE")) from None


def parse_storage_options(value: str | None) -> dict[str, str]:
    """``MLPLATFORM_STORAGE_OPTIONS``: a JSON object of deltalake storage options (strings)."""
    if not value:
        return {}
    try:
        options = json.loads(value)
    except ValueError as err:
        raise SettingsError(f"MLPLATFORM_STORAGE_OPTIONS is not valid JSON ({err})") from None
    if not isinstance(options, dict):
        raise SettingsError(
            "MLPLATFORM_STORAGE_OPTIONS must be a JSON object of storage options "
            '(such as {"AWS_REGION": "eu-west-1"})'
        )
    bad = sorted(k for k, v in options.items() if not isinstance(v, str))
    if bad:  # values are never echoed: they may be secrets
        raise SettingsError(
            f"MLPLATFORM_STORAGE_OPTIONS: the values of {', '.join(bad)} must be strings "
            '(write "true", "8080")'
        )
    return options


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call where needed)."""
    home = home_folder(HOME.value())
    env = ENV.value()
    if env not in ENVIRONMENTS:
        raise SettingsError(
            f"MLPLATFORM_ENV={env!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    engine = ENGINE.value()
    if engine not in ENGINES:
        raise SettingsError(
            f"MLPLATFORM_ENGINE={engine!r} is not an engine; use one of {', '.join(ENGINES)}"
        )
    options = parse_storage_options(STORAGE_OPTIONS.value())
    return Settings(
        home=home,
        env=env,
        engine=engine,
        tracking_uri_override=os.environ.get("MLFLOW_TRACKING_URI") or None,
        lakehouse_root=table_root(LAKEHOUSE.value(), options),
        storage_options=options,
    )
