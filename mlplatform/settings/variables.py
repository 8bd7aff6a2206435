"""Every ``MLPLATFORM_*`` environment variable: its name, type, default and meaning.

This module is the only place that reads them from the environment: other modules ask a
``Variable`` here (``ALERT_WEBHOOK.value()``) or the ``Settings`` built from them. The README's
table of settings is rendered from ``VARIABLES`` (``settings_table()``) and a test keeps the two
equal. Setting variables for a child process (a subprocess environment) needs no entry here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from mlplatform.settings.errors import SettingsError

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Variable:
    """One environment variable.

    Attributes:
        name: The variable (a family such as ``MLPLATFORM_VAR_<name>`` ends with ``<name>``).
        kind: What it holds, as the README says it.
        default: The value used when it is unset or empty (None: no value).
        doc: What it does.
        shown: The default as the README shows it, when it is not a plain value.
    """

    name: str
    kind: str
    default: str | None
    doc: str
    shown: str | None = None

    @property
    def family(self) -> bool:
        """Whether this names a family of variables (``MLPLATFORM_VAR_<name>``)."""
        return self.name.endswith(">")

    @property
    def prefix(self) -> str:
        """The family's common prefix (``MLPLATFORM_VAR_``), or the name itself."""
        return self.name.split("<", 1)[0]

    def value(self, environ: Mapping[str, str] | None = None, member: str = "") -> str | None:
        """The variable's text (the default when it is unset or empty).

        Args:
            environ: Where to look (default: this process's environment).
            member: For a family, the name after the prefix.
        """
        source = os.environ if environ is None else environ
        raw = source.get(self.prefix + member if self.family else self.name)
        return raw if raw else self.default

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's text as set (None when it is unset or empty: no default)."""
        source = os.environ if environ is None else environ
        return source.get(self.name) or None

    def number(self, kind: type[N] = float, error: type[Exception] = SettingsError) -> N | None:
        """The variable as a number (its default when unset or empty).

        Raises:
            error: with the variable and its value, when it is not such a number.
        """
        default = None if self.default is None else kind(self.default)
        return env_number(self.name, default, kind, error)


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


# the data home, the environment and the engine
HOME = Variable(
    "MLPLATFORM_HOME",
    "folder or `file://` URI",
    ".mlplatform",
    "root of what the embedded default stores: `landing/`, `lakehouse/`, `mlflow/`, `dagster/`",
    shown="`./.mlplatform`",
)
ENV = Variable("MLPLATFORM_ENV", "`dev`, `staging` or `prod`", "dev", "the environment")
ENGINE = Variable(
    "MLPLATFORM_ENGINE",
    "`polars` or `spark`",
    "polars",
    "the table engine (DLT code runs on Spark unless this is `polars`)",
)
LAKEHOUSE = Variable(
    "MLPLATFORM_LAKEHOUSE",
    "path, `file://` or object-store URI",
    None,
    "the table root: the Delta tables and their ledgers",
    shown="`$MLPLATFORM_HOME/lakehouse`",
)
STORAGE_OPTIONS = Variable(
    "MLPLATFORM_STORAGE_OPTIONS",
    "JSON object of strings",
    None,
    "deltalake storage options of an object-store table root",
    shown="`{}`",
)
# Spark
SPARK_REMOTE = Variable(
    "MLPLATFORM_SPARK_REMOTE",
    "`sc://host:port`",
    None,
    "a Spark Connect server (wins over the master)",
)
SPARK_MASTER = Variable(
    "MLPLATFORM_SPARK_MASTER", "Spark master URL", "local[2]", "where a classic session runs"
)
SPARK_SHUFFLE_PARTITIONS = Variable(
    "MLPLATFORM_SPARK_SHUFFLE_PARTITIONS", "integer", "4", "`spark.sql.shuffle.partitions`"
)
SPARK_DRIVER_MEMORY = Variable(
    "MLPLATFORM_SPARK_DRIVER_MEMORY", "size", "2g", "`spark.driver.memory` of a classic session"
)
SPARK_JARS = Variable(
    "MLPLATFORM_SPARK_JARS",
    "folder",
    None,
    "cache of Delta Lake's Spark connector and hadoop-aws (`mlplatform spark fetch-jars`)",
    shown="`~/.cache/mlplatform/spark-jars`",
)
# declarative pipelines
DLT_SCHEMA = Variable(
    "MLPLATFORM_DLT_SCHEMA",
    "name",
    None,
    "the schema of a DLT file's tables",
    shown="the file's stem",
)
PIPELINE_SPEC = Variable(
    "MLPLATFORM_PIPELINE_SPEC",
    "file",
    None,
    "the spec `mlplatform.pipelines.code_location` loads",
    shown="`spark-pipeline.yml` of the current folder",
)
# projects (bundles)
PROJECT = Variable(
    "MLPLATFORM_PROJECT",
    "folder",
    None,
    "the project (a bundle folder) `mlplatform.project.location` loads",
    shown="`examples/customer_churn` of the repository",
)
TARGET = Variable(
    "MLPLATFORM_TARGET",
    "target name",
    None,
    "the bundle target `mlplatform.project.location` loads",
    shown="the bundle's default target",
)
# serving and the online store
SERVING_POLL_S = Variable(
    "MLPLATFORM_SERVING_POLL_S", "number", "5", "seconds between checks of the champion alias"
)
SERVING_TOKEN = Variable(
    "MLPLATFORM_SERVING_TOKEN", "text", None, "requires `Authorization: Bearer <token>`"
)
ONLINE_STORE_URI = Variable(
    "MLPLATFORM_ONLINE_STORE_URI",
    "`postgresql://` URI",
    None,
    "the online feature store",
    shown="SQLite at `$MLPLATFORM_HOME/online/features.db`",
)
# training
GIT_COMMIT = Variable(
    "MLPLATFORM_GIT_COMMIT",
    "text",
    None,
    "the code version tagged on training runs",
    shown="`GIT_COMMIT`, else `git rev-parse HEAD`",
)
# monitoring
MONITOR_CONFIG = Variable(
    "MLPLATFORM_MONITOR_CONFIG", "YAML file", None, "the monitor's options (see Monitor options)"
)
ALERT_WEBHOOK = Variable(
    "MLPLATFORM_ALERT_WEBHOOK",
    "URL",
    None,
    "where alerts are POSTed (delivery failures are logged, never fatal)",
)
DRIFT_THRESHOLDS = Variable(
    "MLPLATFORM_DRIFT_THRESHOLDS",
    'JSON `{metric: {"warn": x, "error": y}}`',
    None,
    "over the default levels (`null` drops one; `ks_test.pvalue`: lower is worse)",
    shown="see Monitoring",
)
DRIFT_MIN_ROWS = Variable(
    "MLPLATFORM_DRIFT_MIN_ROWS", "integer", "500", "smallest window (rows) drift is judged on"
)
DRIFT_ALPHA = Variable(
    "MLPLATFORM_DRIFT_ALPHA", "number or `none`", "0.001", "significance gate (`none`: off)"
)
RETRAIN_EVALUATION_WINDOWS = Variable(
    "MLPLATFORM_RETRAIN_EVALUATION_WINDOWS", "integer", "5", "M: the windows retraining looks at"
)
RETRAIN_VIOLATION_WINDOWS = Variable(
    "MLPLATFORM_RETRAIN_VIOLATION_WINDOWS", "integer", "2", "N of the last M windows drifted"
)
RETRAIN_GRANULARITY = Variable(
    "MLPLATFORM_RETRAIN_GRANULARITY", "granularity", "1 hour", "the windows the sensor counts"
)
RETRAIN_COOLDOWN_HOURS = Variable(
    "MLPLATFORM_RETRAIN_COOLDOWN_HOURS", "number", "24", "quiet time after a retraining request"
)
RETRAIN_COUNT_SLICES = Variable(
    "MLPLATFORM_RETRAIN_COUNT_SLICES",
    "boolean",
    "false",
    "a window drifted in one slice only counts too",
)
# deployment
DEPLOY_USER = Variable(
    "MLPLATFORM_DEPLOY_USER",
    "text",
    None,
    "the dev-mode name prefix `dev-<user>-`",
    shown="`GITHUB_ACTOR`, else the login name",
)
DEPLOY_DEFINITIONS = Variable(
    "MLPLATFORM_DEPLOY_DEFINITIONS",
    "`module:attribute`",
    "mlplatform.definitions:defs",
    "the definitions the dev code location wraps (set by the rendered Helm values)",
)
BUNDLE_VARIABLE = Variable(
    "MLPLATFORM_VAR_<name>",
    "text",
    None,
    "the value of the deploy bundle's variable `<name>` (over the target's and the default)",
)
# tests of exactly-once recovery
FAILPOINT = Variable(
    "MLPLATFORM_FAILPOINT",
    "`<name>[:<layer>/<table>][@<n>]`",
    None,
    "kill (or pause) the process at that point (tests)",
)
FAILPOINT_ACTION = Variable(
    "MLPLATFORM_FAILPOINT_ACTION", "`kill` or `pause`", "kill", "what a failpoint does (tests)"
)
FAILPOINT_DIR = Variable(
    "MLPLATFORM_FAILPOINT_DIR", "folder", ".", "where a paused failpoint signals (tests)"
)

VARIABLES: tuple[Variable, ...] = tuple(v for v in globals().values() if isinstance(v, Variable))
"""Every variable, in the order above."""


def settings_table() -> str:
    """The README's table of settings (Markdown), one row per variable."""
    rows = ["| variable | holds | default | what it does |", "|---|---|---|---|"]
    for v in VARIABLES:
        default = v.shown or (f"`{v.default}`" if v.default is not None else "unset")
        rows.append(f"| `{v.name}` | {v.kind} | {default} | {v.doc} |")
    return "\n".join(rows) + "\n"
