"""The incremental engine's monitoring tables as Dagster assets (group "monitoring"), both read
from a declared monitor's inference table (`build_monitoring_assets`).

Each run recomputes only the windows that got new or changed inference rows since the version
the table last reflected; `full_refresh` recomputes every window (after changing granularities,
for instance). With no inference rows or no model yet both tables are created empty.
"""

import dagster as dg

from mlplatform.catalog import DRIFT_METRICS, INFERENCE, PROFILE_METRICS
from mlplatform.lakehouse.assets import table_pool
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.baseline_binding import BaselineBinding
from mlplatform.monitoring.config import MonitoringConfigError, parse_granularities
from mlplatform.monitoring.loader import drift_rules, load_options, monitor_options
from mlplatform.monitoring.monitor_config import MonitorOptions
from mlplatform.monitoring.names import asset_key, output_keys
from mlplatform.monitoring.tables import MONITORING, drift_store, profile_store, reports_dir
from mlplatform.monitoring.thresholds import WARN, breaches
from mlplatform.project.model import QualityMonitor


class CustomMetricConfig(dg.Config):
    """One custom metric (Lakehouse Monitoring's `MonitorMetric`)."""

    type: str  # aggregate | derived | drift
    name: str
    input_columns: list[str]  # columns, or [":table"]
    definition: str  # SQL template: {{input_column}}, {{current_df}}, {{base_df}}
    output_data_type: str = "double"


class MonitoringConfig(dg.Config):
    """The monitor's options for one run (left out: `MLPLATFORM_MONITOR_CONFIG`'s YAML, then
    the defaults; see `mlplatform.monitoring.loader`), and the refresh mode."""

    granularities: list[str] | None = None  # "<n> minute|hour|day|week"; default 1 hour, 1 day
    slicing_exprs: list[str] | None = None  # SQL expressions over the inference table's columns
    max_slice_values: int | None = None  # distinct values profiled per expression (100)
    custom_metrics: list[CustomMetricConfig] | None = None
    baseline_table_name: str | None = None  # instead of the model version's training data
    problem_type: str | None = None  # classification | regression
    label_col: str | None = None
    prediction_col: str | None = None
    model_id_col: str | None = None
    timestamp_col: str | None = None
    full_refresh: bool = False  # recompute every window, not only those with new rows

    def options(self, base: dict | None = None) -> MonitorOptions:
        """The run's options: these values over the YAML file over `base` (the declared
        monitor's values) over the defaults."""
        values = self.model_dump(exclude={"full_refresh"})
        if self.custom_metrics is not None:
            values["custom_metrics"] = [m.model_dump() for m in self.custom_metrics]
        return load_options(values, base)


def _table_metadata(store, summary: dict) -> dict:
    table = store.table()
    meta = {
        "dagster/uri": str(store.path),
        "dagster/row_count": table.count(),
        "delta_version": table.version(),
        "batch_id": summary["batch_id"],
        "nothing_new": summary["nothing_new"],
        "windows_recomputed": summary["windows"],
        "rows_written": summary["rows"],
    }
    if "inference_versions" in summary:
        meta["inference_versions"] = dg.MetadataValue.json(summary["inference_versions"])
    return meta


def build_monitoring_assets(
    monitor: QualityMonitor, baselines: BaselineBinding
) -> list[dg.AssetsDefinition]:
    """The incremental engine's profile and drift assets of a declared inference-log monitor.

    Raises:
        MonitoringConfigError: the monitor's tables are not the ones this engine maintains.
    """
    profile_key, drift_key = output_keys(monitor)
    source = asset_key(monitor.table_name)
    if (source, profile_key, drift_key) != (
        INFERENCE.asset_key,
        PROFILE_METRICS.asset_key,
        DRIFT_METRICS.asset_key,
    ):
        raise MonitoringConfigError(
            f"the incremental engine maintains {PROFILE_METRICS.key} and {DRIFT_METRICS.key} of "
            f"{INFERENCE.key} only; monitor {monitor.table_name} with monitor_definitions()"
        )
    base = monitor_options(monitor)
    what = monitor.table_name

    @dg.asset(
        key=profile_key,
        pool=table_pool(PROFILE_METRICS.key),
        deps=[source],
        group_name=MONITORING,
        kinds={"deltalake", "polars"},
        owners=["team:ml-engineering"],
        automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),  # after new rows
        description=f"What {what} saw, per time window (hourly and daily) and model version "
        "and over all versions: row counts, null and distinct counts, min/max/mean/stddev/"
        "quantiles of each feature and of the prediction, the most frequent predicted labels, "
        "and ROC AUC, accuracy, precision and recall where labels arrived.",
        metadata=PROFILE_METRICS.catalog_metadata(),
    )
    def inference_profile_metrics(
        context: dg.AssetExecutionContext, config: MonitoringConfig, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        """Recompute the profile of the windows with new inference rows."""
        from mlplatform.monitoring import profile  # numpy and the metrics: loaded on a run

        settings = lakehouse.settings
        options = config.options(base)
        summary = profile.update(
            settings, parse_granularities(list(options.granularities)), config.full_refresh, options
        )
        context.log.info(f"profile metrics: {summary['windows']} windows recomputed")
        meta = _table_metadata(profile_store(settings), summary)
        meta["slice_rows_over_cap"] = dg.MetadataValue.json(summary.get("slice_rows_over_cap", {}))
        return dg.MaterializeResult(metadata=meta | _dashboard(settings, summary, options))

    @dg.asset(
        key=drift_key,
        pool=table_pool(DRIFT_METRICS.key),
        deps=[source],
        group_name=MONITORING,
        kinds={"deltalake", "polars"},
        owners=["team:ml-engineering"],
        automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),  # after new rows
        description=f"How far what {what} sees has moved, per time window, model "
        "version and column: each feature against the training data of the version that served it, "
        "and features and predictions against the previous window (KS test, Wasserstein distance, "
        "population stability index, Jensen-Shannon distance; chi-squared test, total variation "
        "and L-infinity distance for categorical columns). Checked against thresholds; persistent "
        "drift triggers retraining.",
        metadata=DRIFT_METRICS.catalog_metadata(),
    )
    def inference_drift_metrics(
        context: dg.AssetExecutionContext, config: MonitoringConfig, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        """Recompute the drift of the windows with new inference rows; plot what drifted."""
        from mlplatform.monitoring import drift  # numpy and the metrics: loaded on a run
        from mlplatform.monitoring.report import markdown_table, plot_breaches

        settings = lakehouse.settings
        options = config.options(base)
        summary, computation = drift.update(
            settings,
            parse_granularities(list(options.granularities)),
            config.full_refresh,
            log=context.log,
            options=options,
            binding=baselines,
        )
        meta = _table_metadata(drift_store(settings), summary)
        if summary.get("baseline_problems"):
            meta["baseline_problems"] = dg.MetadataValue.json(summary["baseline_problems"])
        found = breaches(computation.frame, drift_rules())
        meta["drifted_columns"] = dg.MetadataValue.json(sorted(set(found["column_name"])))
        meta["drift_report"] = dg.MetadataValue.md(
            f"### Drift beyond {WARN} or ERROR levels in this run\n\n{markdown_table(found)}"
        )
        if not found.is_empty():
            folder = reports_dir(settings) / f"batch-{summary['batch_id']}"
            plots = plot_breaches(found, computation, folder)
            meta["report_dir"] = dg.MetadataValue.path(str(folder))
            meta |= {key: dg.MetadataValue.path(str(path)) for key, path in plots.items()}
            context.log.warning(
                f"drift in {found['column_name'].n_unique()} column(s); {len(plots)} plots in "
                f"{folder}"
            )
        return dg.MaterializeResult(metadata=meta | _dashboard(settings, summary, options))

    return [inference_profile_metrics, inference_drift_metrics]


def _dashboard(settings, summary: dict, options: MonitorOptions) -> dict:
    """Render the dashboard (each monitoring asset does: the later one sees both tables)."""
    from mlplatform.monitoring import dashboard

    path = dashboard.write(settings, summary["batch_id"], options, drift_rules())
    return {
        "dashboard": dg.MetadataValue.path(str(path)),
        "dashboard_latest": dg.MetadataValue.path(str(dashboard.latest_path(settings))),
    }
