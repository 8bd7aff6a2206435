"""Drift checks on the drift table: the windows the last run recomputed, against thresholds.

`baseline_drift_within_thresholds` judges drift against the training data and
`consecutive_drift_within_thresholds` against the previous window. A check fails with severity
ERROR when a metric crosses its error level, WARN when only warn levels are crossed; its
description names the columns, windows and values, and the failure is sent as an alert (run log
and webhook). Thresholds come from `loader.drift_rules()`, overridable per run in the config.
"""

import dagster as dg
import polars as pl

from mlplatform.catalog import DRIFT_METRICS
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.alerts import send_alert
from mlplatform.monitoring.config import DriftRules, threshold_for
from mlplatform.monitoring.loader import drift_rules
from mlplatform.monitoring.tables import BASELINE, CONSECUTIVE, drift_store
from mlplatform.monitoring.thresholds import ERROR, breaches, describe, slice_name
from mlplatform.settings import Settings


class ThresholdConfig(dg.Config):
    """Levels of one metric (either may be left out)."""

    warn: float | None = None
    error: float | None = None


class DriftCheckConfig(dg.Config):
    """Overrides of the drift rules for one run (empty: the defaults and environment)."""

    thresholds: dict[str, ThresholdConfig] = {}  # metric -> levels, merged over the defaults
    min_rows: int | None = None  # judge rows with at least this many values on both sides
    alpha: float | None = None  # significance gate on the KS / chi-squared p-value
    significance_gate: bool = True  # False: judge distances alone


def rules_for(config: DriftCheckConfig) -> DriftRules:
    """The environment's rules with the run config's overrides."""
    base = drift_rules()
    thresholds = dict(base.thresholds)
    for metric, levels in config.thresholds.items():
        thresholds[metric] = threshold_for(metric, levels.warn, levels.error)
    alpha = config.alpha if config.alpha is not None else base.alpha
    return DriftRules(
        thresholds=thresholds,
        min_rows=config.min_rows if config.min_rows is not None else base.min_rows,
        alpha=alpha if config.significance_gate else None,
    )


def evaluate(
    drift_type: str, rules: DriftRules, settings: Settings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of the latest batch of `drift_type`, their breaches)."""
    store = drift_store(settings)
    if not store.exists():
        rows = pl.DataFrame()
        return rows, breaches(rows, rules)
    batch = store.committed_batch()
    rows = (
        store.scan()
        .filter((pl.col("batch_id") == batch) & (pl.col("drift_type") == drift_type))
        .collect()
    )
    return rows, breaches(rows, rules)


def build_drift_check(
    drift_type: str, asset_key: dg.AssetKey = DRIFT_METRICS.asset_key
) -> dg.AssetChecksDefinition:
    """The check of one drift type (BASELINE or CONSECUTIVE) on the drift table's asset."""
    name = f"{drift_type.lower()}_drift_within_thresholds"
    against = "the training data" if drift_type == BASELINE else "the previous window"

    @dg.asset_check(
        asset=asset_key,
        name=name,
        description=f"No column drifted from {against} beyond its warn (WARN) or error (ERROR) "
        "level in the windows the last run recomputed.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        config: DriftCheckConfig,
        lakehouse: LakehouseResource,
    ):
        rules = rules_for(config)
        rows, found = evaluate(drift_type, rules, lakehouse.settings)
        windows = 0 if rows.is_empty() else rows.select("granularity", "window_start").n_unique()
        meta = {
            "windows_judged": windows,
            "rows_judged": rows.height,
            "thresholds": dg.MetadataValue.json(
                {m: {"warn": t.warn, "error": t.error} for m, t in rules.thresholds.items()}
            ),
            "min_rows": rules.min_rows,
            "alpha": rules.alpha if rules.alpha is not None else dg.MetadataValue.null(),
        }
        if found.is_empty():
            return dg.AssetCheckResult(
                passed=True, metadata=meta, description=f"no drift in {windows} window(s)"
            )
        severity = ERROR if (found["level"] == ERROR).any() else "WARN"
        columns = sorted(set(found["column_name"]))
        drifted = sorted(
            {
                f"{g} {w:%Y-%m-%dT%H:%MZ}"
                for g, w in found.select("granularity", "window_start").iter_rows()
            }
        )
        sliced = sorted(
            {slice_name(k, v) for k, v in found.select("slice_key", "slice_value").iter_rows()}
            - {""}
        )
        from mlplatform.monitoring.report import markdown_table  # numpy: loaded on a breach

        description = (
            f"{len(columns)} column(s) drifted from {against} ({severity}): {describe(found)}"
        )
        send_alert(
            {
                "event": "drift_check_failed",
                "check": name,
                "severity": severity,
                "summary": description,
                "columns": columns,
                "windows": drifted,
                "slices": sliced,
                "run_id": context.op_execution_context.run_id,
            },
            context.log,
        )
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR
            if severity == ERROR
            else dg.AssetCheckSeverity.WARN,
            description=description,
            metadata=meta
            | {
                "drifted_columns": dg.MetadataValue.json(columns),
                "drifted_windows": dg.MetadataValue.json(drifted),
                "drifted_slices": dg.MetadataValue.json(sliced),
                "breaches": dg.MetadataValue.md(markdown_table(found)),
            },
        )

    return _check


drift_checks = [build_drift_check(BASELINE), build_drift_check(CONSECUTIVE)]
