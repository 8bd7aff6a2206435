"""The project model: what a team's project declares, whichever face declared it.

A project is a folder with a bundle file (`databricks.yml`, `databricks.yaml` or `bundle.yml`)
in the documented Databricks bundle schema. The bundle YAML (`mlplatform.project.bundle`), the
`dg` component and the Python API all build these objects; everything downstream (Dagster
definitions, the CLI verbs, deploy) reads only these. Every object is plain typed data, resolved
for one target: no `${...}` is left in it.

Where a value came from is kept as a `Position` (file, line, key path), so any later check can
name the file, line and key a user must change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESOURCE_KINDS = (
    "pipelines",
    "jobs",
    "registered_models",
    "experiments",
    "model_serving_endpoints",
    "quality_monitors",
)
"""The bundle resource kinds mlplatform reads (Databricks' names). Others warn."""


@dataclass(frozen=True)
class Position:
    """Where a value is written: file, 1-based line, and the dotted key path
    (`resources.pipelines.orders.libraries[0]`). The bundle reader gives `file` relative to
    the project root (as `databricks bundle validate` prints it) and a 1-based `column`
    (0: unknown)."""

    file: Path
    line: int
    key: str
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}"


@dataclass(frozen=True)
class Library:
    """One entry of a pipeline's `libraries`: exactly one of a glob, a file or a notebook
    (paths resolved against the file that declared them)."""

    glob: str | None = None
    file: Path | None = None
    notebook: Path | None = None


@dataclass(frozen=True)
class Pipeline:
    """`resources.pipelines.<key>`: a declarative pipeline (DLT / Lakeflow / SDP code)."""

    key: str
    name: str
    libraries: tuple[Library, ...]
    catalog: str | None = None
    schema: str | None = None
    """`schema` (or the older `target`): where the pipeline's datasets are published."""
    configuration: dict[str, str] = field(default_factory=dict)
    development: bool = False
    continuous: bool = False
    root_path: Path | None = None
    position: Position | None = None


@dataclass(frozen=True)
class ModelAlias:
    alias_name: str
    version_num: int


@dataclass(frozen=True)
class RegisteredModel:
    """`resources.registered_models.<key>`: a Unity Catalog registered model."""

    key: str
    name: str
    catalog: str | None = None
    schema: str | None = None
    comment: str | None = None
    aliases: tuple[ModelAlias, ...] = ()
    position: Position | None = None

    @property
    def full_name(self) -> str:
        """The registry name: `catalog.schema.name`, or fewer parts where the project names
        no catalog (the demo's `churn_predictor`)."""
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)


@dataclass(frozen=True)
class Experiment:
    """`resources.experiments.<key>`: an MLflow experiment."""

    key: str
    name: str
    artifact_location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    position: Position | None = None


@dataclass(frozen=True)
class MonitorSchedule:
    quartz_cron_expression: str
    timezone_id: str = "UTC"
    pause_status: str = "UNPAUSED"


@dataclass(frozen=True)
class InferenceLog:
    """`inference_log` of a quality monitor (Lakehouse Monitoring's names)."""

    problem_type: str
    """`PROBLEM_TYPE_CLASSIFICATION` or `PROBLEM_TYPE_REGRESSION`."""
    prediction_col: str
    timestamp_col: str
    model_id_col: str
    granularities: tuple[str, ...]
    label_col: str | None = None
    prediction_proba_col: str | None = None


@dataclass(frozen=True)
class TimeSeries:
    timestamp_col: str
    granularities: tuple[str, ...]


@dataclass(frozen=True)
class QualityMonitor:
    """`resources.quality_monitors.<key>`: a Lakehouse Monitoring monitor of one Delta table.

    Exactly one of `inference_log`, `time_series`, `snapshot` is set. Its outputs are
    `<output_schema_name>.<table>_profile_metrics` and `_drift_metrics`."""

    key: str
    table_name: str
    output_schema_name: str
    inference_log: InferenceLog | None = None
    time_series: TimeSeries | None = None
    snapshot: bool = False
    slicing_exprs: tuple[str, ...] = ()
    custom_metrics: tuple[dict[str, Any], ...] = ()
    baseline_table_name: str | None = None
    schedule: MonitorSchedule | None = None
    assets_dir: str | None = None
    position: Position | None = None


@dataclass(frozen=True)
class Target:
    """The selected `targets.<name>`."""

    name: str
    mode: str | None = None
    """`development`, `production` or None."""
    default: bool = False
    presets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Warning_:
    """A problem that does not stop the bundle (an unknown key or resource kind)."""

    position: Position
    summary: str

    def __str__(self) -> str:
        column = f":{self.position.column}" if self.position.column else ""
        return (
            f"Warning: {self.summary}\n  at {self.position.key}\n"
            f"  in {self.position.file}:{self.position.line}{column}"
        )


@dataclass(frozen=True)
class Project:
    """A project resolved for one target."""

    name: str
    root: Path
    target: Target
    variables: dict[str, Any] = field(default_factory=dict)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    registered_models: dict[str, RegisteredModel] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    quality_monitors: dict[str, QualityMonitor] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw job settings (the jobs issue gives them a model of their own)."""
    model_serving_endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw endpoint settings (the serving issue gives them a model of their own)."""
    python_modules: tuple[str, ...] = ()
    """`module:function` entries of the bundle's `python.resources`: Python-declared resources
    and Dagster definitions of the project (the Python API face)."""
    warnings: tuple[Warning_, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    """The whole configuration resolved for the target, in the Databricks API's object shape
    (`bundle`, `workspace`, `variables`, `resources`...): unknown keys are kept here, and
    `bundle summary --output json` prints it."""
    positions: dict[str, Position] = field(default_factory=dict)
    """Where each key of `config` was written (`resources.jobs.train.tasks[0].notebook_task.
    notebook_path` -> file, line, column): a path written in a file is relative to that file's
    folder, and later checks name the place a user must change."""
    owners: tuple[str, ...] = ()
    """Dagster owners of the project's assets (e-mail addresses or `team:<name>`); empty: the
    team named after the bundle (`team:<bundle name>`)."""
