"""The retraining loop: launch `ml_training_job` when drift against the baseline persists.

Each evaluation reads the drift table: of the last `evaluation_windows` judged windows of the
policy's granularity (windows with enough rows, see `DriftRules.min_rows`), at least
`violation_windows` must have a feature over its error level against the training data (in the
whole table; in any slice too with `count_slices`). Then the sensor requests one run of the
training job it is built with (`build_drift_retrain_sensor`, wired to `ml_training_job` in
`mlplatform.definitions`; run key: the latest drifted window, so a window never triggers
twice), alerts (run log and webhook), and keeps quiet for the cool-down, which the cursor
remembers: `{"last_request_at": ..., "last_window": ...}`. Settings: `loader.retrain_policy()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.alerts import send_alert
from mlplatform.monitoring.config import DriftRules, RetrainPolicy
from mlplatform.monitoring.loader import drift_rules, retrain_policy
from mlplatform.monitoring.tables import BASELINE, drift_store
from mlplatform.monitoring.thresholds import ERROR, breaches
from mlplatform.settings import Settings


@dataclass(frozen=True)
class Verdict:
    """The drift state of the last windows."""

    evaluated: list[datetime]  # latest first
    drifted: list[datetime]  # latest first
    columns: list[str]
    retrain: bool

    def summary(self, policy: RetrainPolicy) -> str:
        return (
            f"{len(self.drifted)} of the last {len(self.evaluated)} judged "
            f"{policy.granularity} windows drifted from the training data at ERROR level "
            f"(retraining needs {policy.violation_windows} of {policy.evaluation_windows})"
            + (f": {', '.join(self.columns)}" if self.columns else "")
        )


def persistent_drift(drift: pl.DataFrame, policy: RetrainPolicy, rules: DriftRules) -> Verdict:
    """Whether at least N of the last M judged windows drifted against the baseline."""
    rows = drift.filter(
        (pl.col("granularity") == policy.granularity)
        & (pl.col("drift_type") == BASELINE)
        & (pl.min_horizontal("count", "count_cmp") >= rules.min_rows)
    )
    if not policy.count_slices and "slice_key" in rows.columns:
        rows = rows.filter(pl.col("slice_key").is_null())  # the whole table's rows only
    evaluated = rows["window_start"].unique().sort(descending=True).head(policy.evaluation_windows)
    found = breaches(rows.filter(pl.col("window_start").is_in(evaluated.implode())), rules)
    found = found.filter(pl.col("level") == ERROR)
    drifted = found["window_start"].unique().sort(descending=True).to_list()
    return Verdict(
        evaluated.to_list(),
        drifted,
        sorted(set(found["column_name"])),
        len(drifted) >= policy.violation_windows,
    )


def _read_drift(settings: Settings) -> pl.DataFrame | None:
    store = drift_store(settings)
    if not store.exists():
        return None
    return store.scan().filter(pl.col("drift_type") == BASELINE).collect()


def drift_retrain(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource):
    """Retrain on persistent drift, at most once per cool-down."""
    policy, rules = retrain_policy(), drift_rules()
    drift = _read_drift(lakehouse.settings)
    if drift is None:
        return dg.SkipReason("no drift table yet")
    verdict = persistent_drift(drift, policy, rules)
    if not verdict.retrain:
        return dg.SkipReason(verdict.summary(policy))
    cursor = json.loads(context.cursor) if context.cursor else {}
    now = datetime.now(UTC)
    latest = verdict.drifted[0].isoformat()
    if cursor.get("last_window") == latest:
        return dg.SkipReason(f"retraining already requested for the window {latest}")
    last = cursor.get("last_request_at")
    if last and now - datetime.fromisoformat(last) < policy.cooldown:
        until = datetime.fromisoformat(last) + policy.cooldown
        return dg.SkipReason(f"{verdict.summary(policy)}; cool-down until {until.isoformat()}")
    context.update_cursor(json.dumps({"last_request_at": now.isoformat(), "last_window": latest}))
    summary = f"retraining requested: {verdict.summary(policy)}"
    send_alert(
        {
            "event": "retraining_requested",
            "severity": "ERROR",
            "summary": summary,
            "columns": verdict.columns,
            "windows": [w.isoformat() for w in verdict.drifted],
        },
        context.log,
    )
    return dg.RunRequest(
        run_key=f"drift-retrain-{policy.granularity.replace(' ', '')}-{latest}",
        tags={
            "mlplatform/trigger": "drift",
            "mlplatform/drift_window": latest,
            "mlplatform/drifted_columns": ",".join(verdict.columns)[:200],
        },
    )


def build_drift_retrain_sensor(job: dg.JobDefinition | dg.UnresolvedAssetJobDefinition):
    """The `drift_retrain_sensor`, requesting runs of `job` (the training job)."""
    return dg.sensor(
        name="drift_retrain_sensor",
        job=job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests {job.name} when features drifted from the training data at ERROR "
        "level in at least N of the last M windows (MLPLATFORM_RETRAIN_* settings), then waits a "
        "cool-down; alerts to the log and MLPLATFORM_ALERT_WEBHOOK.",
    )(drift_retrain)
