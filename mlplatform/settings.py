"""Environment settings, read from environment variables (the one environment switch).

`MLPLATFORM_HOME` is the root of everything the embedded default stores, `MLPLATFORM_ENV` selects
dev, staging or prod, `MLPLATFORM_ENGINE` selects the table engine, and `MLFLOW_TRACKING_URI`
overrides the embedded sqlite tracking store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse
from urllib.request import url2pathname

N = TypeVar("N", int, float)

ENVIRONMENTS = ("dev", "staging", "prod")
ENGINES = ("polars", "spark")


class SettingsError(ValueError):
    """An environment variable holds a value mlplatform cannot use."""


def env_number(
    name: str, default: N, kind: type[N] = float, error: type[Exception] = SettingsError
) -> N:
    """The number in the environment variable `name` (`default` when unset or empty).

    Args:
        name: The variable.
        default: Its value when the variable is unset or empty.
        kind: `int` or `float`.
        error: What to raise (with the variable and its value) when it is not such a number.
    """
    value = os.environ.get(name)
    try:
        return kind(value) if value else default
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise error(f"{name}={value!r} is not {what}") from None


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its data and which environment and engine it runs."""

    home: Path
    env: str
    engine: str
    tracking_uri_override: str | None = None

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lakehouse(self) -> Path:
        return self.home / "lakehouse"

    @property
    def checkpoints(self) -> Path:
        """Ingestion and streaming ledgers (the equivalent of a checkpointLocation)."""
        return self.home / "lakehouse" / "_checkpoints"

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

    def table_path(self, layer: str, name: str) -> Path:
        return self.lakehouse / layer / name


def _home_path(value: str) -> Path:
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
            f"{parsed.scheme}:// storage is not supported (mount it and use the mount's path)"
        )
    return Path(value).expanduser().resolve()


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call where needed)."""
    home = _home_path(os.environ.get("MLPLATFORM_HOME") or ".mlplatform")
    env = os.environ.get("MLPLATFORM_ENV") or "dev"
    if env not in ENVIRONMENTS:
        raise SettingsError(
            f"MLPLATFORM_ENV={env!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    engine = os.environ.get("MLPLATFORM_ENGINE") or "polars"
    if engine not in ENGINES:
        raise SettingsError(
            f"MLPLATFORM_ENGINE={engine!r} is not an engine; use one of {', '.join(ENGINES)}"
        )
    return Settings(
        home=home,
        env=env,
        engine=engine,
        tracking_uri_override=os.environ.get("MLFLOW_TRACKING_URI") or None,
    )
