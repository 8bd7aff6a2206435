"""Custom metrics as Lakehouse Monitoring defines them, evaluated as polars SQL (no Python eval).

A metric is `{type, name, input_columns, definition, output_data_type}`:

- `aggregate`: a SQL aggregate over the rows of a window and slice, computed for each input
  column (`{{input_column}}` in the definition is that column) or, with the input column
  `:table`, once for the window (the definition names columns itself). A column of the profile
  table, on the rows of its input columns.
- `derived`: a SQL expression over the profile row's metrics (aggregate custom metrics and the
  built-in columns such as `avg`, `count`); a column of the profile table.
- `drift`: a SQL expression comparing an aggregate metric of the current window
  (`{{current_df}}.name`) with the same metric of the baseline or previous window
  (`{{base_df}}.name`); a column of the drift table.

Definitions are parsed by polars' SQL (`pl.sql_expr`); only functions Spark SQL has too are
accepted (`SQL_FUNCTIONS`), so a definition means the same on either engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from mlplatform.monitoring.config import MonitoringConfigError

TYPES = ("aggregate", "derived", "drift")
TABLE_INPUT = ":table"
OUTPUT_TYPES = {
    "double": pl.Float64,
    "float": pl.Float64,
    "int": pl.Int64,
    "integer": pl.Int64,
    "long": pl.Int64,
    "bigint": pl.Int64,
    "string": pl.String,
    "boolean": pl.Boolean,
}
SQL_FUNCTIONS = frozenset(
    """abs avg ceil ceiling coalesce corr count covar_pop covar_samp exp floor greatest least
    length ln log log10 log2 lower max mean median min nullif pow power round sign sqrt stddev
    stddev_pop stddev_samp sum upper var_pop var_samp variance cast in and or not when case
    """.split()
)
"""Functions (and keywords written like calls) polars SQL and Spark SQL both have."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_INPUT = re.compile(r"\{\{\s*input_column\s*\}\}")
_FRAME_REF = re.compile(r"\{\{\s*(current_df|base_df)\s*\}\}\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}")


@dataclass(frozen=True)
class CustomMetric:
    """One custom metric (Lakehouse Monitoring's `MonitorMetric`)."""

    type: str
    name: str
    input_columns: tuple[str, ...]
    definition: str
    output_data_type: str = "double"

    @property
    def dtype(self) -> pl.DataType:
        return OUTPUT_TYPES[self.output_data_type]

    def sql(self, column: str | None) -> str:
        """The definition with its templates filled for `column` (None: `:table`)."""
        text = _FRAME_REF.sub(lambda m: f'"{m.group(1)}.{m.group(2)}"', self.definition)
        if column is not None:
            text = _INPUT.sub(f'"{column}"', text)
        return text

    def expr(self, column: str | None) -> pl.Expr:
        """The polars expression of the definition for `column`, cast to the output type."""
        return pl.sql_expr(self.sql(column)).cast(self.dtype).alias(self.name)

    def references(self) -> set[str]:
        """The aggregate metrics a drift definition compares."""
        return {m.group(2) for m in _FRAME_REF.finditer(self.definition)}


def _check(metric: CustomMetric) -> None:
    where = f"custom metric {metric.name!r}"
    if metric.type not in TYPES:
        raise MonitoringConfigError(f"{where}: type {metric.type!r} is not one of {TYPES}")
    if not _NAME.fullmatch(metric.name):
        raise MonitoringConfigError(f"{where}: the name must be a SQL identifier")
    if not metric.input_columns or not all(isinstance(c, str) for c in metric.input_columns):
        raise MonitoringConfigError(f"{where}: input_columns must be a non-empty list of names")
    if metric.output_data_type not in OUTPUT_TYPES:
        raise MonitoringConfigError(
            f"{where}: output_data_type {metric.output_data_type!r} is not one of "
            f"{', '.join(OUTPUT_TYPES)}"
        )
    unknown = sorted({f.lower() for f in _CALL.findall(metric.definition)} - SQL_FUNCTIONS)
    if unknown:
        raise MonitoringConfigError(
            f"{where}: function(s) {', '.join(unknown)} are not among the SQL functions both "
            f"engines have ({', '.join(sorted(SQL_FUNCTIONS))})"
        )
    text = metric.sql("x")
    if metric.type != "drift" and _FRAME_REF.search(metric.definition):
        raise MonitoringConfigError(f"{where}: {{{{current_df}}}}/{{{{base_df}}}} are for drift")
    if metric.type == "drift" and not metric.references():
        raise MonitoringConfigError(
            f"{where}: a drift definition compares {{{{current_df}}}}.<metric> with "
            "{{base_df}}.<metric>"
        )
    leftover = _TEMPLATE.findall(text)
    if leftover:
        raise MonitoringConfigError(f"{where}: unknown template(s) {', '.join(leftover)}")
    try:
        pl.sql_expr(text)
    except Exception as err:  # noqa: BLE001 (polars' SQL errors have several types)
        raise MonitoringConfigError(f"{where}: definition is not SQL: {err}") from err


def parse_custom_metrics(items) -> tuple[CustomMetric, ...]:
    """Custom metrics from their mappings (YAML or config).

    Raises:
        MonitoringConfigError: a metric is malformed (its name and the problem in the message).
    """
    if items is None:
        return ()
    if not isinstance(items, list | tuple):
        raise MonitoringConfigError(f"custom_metrics must be a list, got {items!r}")
    metrics = []
    for item in items:
        if isinstance(item, CustomMetric):
            metrics.append(item)
            continue
        if not isinstance(item, dict):
            raise MonitoringConfigError(f"custom metric {item!r} is not a mapping")
        known = {"type", "name", "input_columns", "definition", "output_data_type"}
        missing = sorted({"type", "name", "input_columns", "definition"} - set(item))
        if missing or set(item) - known:
            raise MonitoringConfigError(
                f"custom metric {item.get('name')!r}: missing {missing}, unknown "
                f"{sorted(set(item) - known)} (keys: {', '.join(sorted(known))})"
            )
        columns = item["input_columns"]
        metric = CustomMetric(
            type=str(item["type"]).lower(),
            name=str(item["name"]),
            input_columns=tuple(columns) if isinstance(columns, list | tuple) else (),
            definition=str(item["definition"]),
            output_data_type=str(item.get("output_data_type", "double")).lower(),
        )
        _check(metric)
        metrics.append(metric)
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise MonitoringConfigError(f"custom metric names repeat: {names}")
    aggregates = {m.name for m in metrics if m.type == "aggregate"}
    for m in metrics:
        if m.type == "drift" and not m.references() <= aggregates:
            raise MonitoringConfigError(
                f"custom metric {m.name!r} compares {sorted(m.references() - aggregates)}, "
                "which are not aggregate custom metrics"
            )
    return tuple(metrics)


def of_type(metrics, kind: str) -> list[CustomMetric]:
    return [m for m in metrics if m.type == kind]


def aggregate_exprs(metrics, column: str) -> list[pl.Expr]:
    """The aggregate metrics of `column` (`:table` for the window-level ones)."""
    return [
        m.expr(None if column == TABLE_INPUT else column)
        for m in of_type(metrics, "aggregate")
        if column in m.input_columns
    ]


def evaluate_derived(frame: pl.DataFrame, metrics) -> pl.DataFrame:
    """Add the derived metrics to profile rows (null on rows of other columns)."""
    for m in of_type(metrics, "derived"):
        for column in m.input_columns:
            source = None if column == TABLE_INPUT else column
            value = pl.when(pl.col("column_name") == column).then(m.expr(source))
            if m.name in frame.columns:
                value = value.otherwise(pl.col(m.name))
            frame = frame.with_columns(value.cast(m.dtype).alias(m.name))
    return frame


def aggregate_values(frame: pl.DataFrame, column: str, metrics) -> dict:
    """`{name: value}` of the aggregate metrics a drift metric needs, on one sample."""
    exprs = aggregate_exprs(metrics, column)
    return frame.select(exprs).row(0, named=True) if exprs and frame.height else {}


def drift_values(column: str, current: dict, base: dict, metrics) -> dict:
    """`{name: value}` of the drift metrics of `column` from both sides' aggregate values."""
    out = {}
    for m in of_type(metrics, "drift"):
        if column not in m.input_columns:
            continue
        row = {f"current_df.{k}": [v] for k, v in current.items()}
        row |= {f"base_df.{k}": [v] for k, v in base.items()}
        needed = {f"{side}.{ref}" for ref in m.references() for side in ("current_df", "base_df")}
        if not needed <= set(row):
            out[m.name] = None
            continue
        out[m.name] = pl.DataFrame(row).select(m.expr(column)).item()
    return out
