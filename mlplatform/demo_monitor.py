"""The demo's quality monitor, here until the demo becomes its project under `examples/`.

The churn predictor's inference table as one `QualityMonitor` (what the demo project's bundle
declares under `resources.quality_monitors`), where its model versions' baselines come from,
and the monitoring definitions `mlplatform.definitions` takes from the platform for it.
The project supplies only these values, its registered model and its baseline rule.
"""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from mlplatform.catalog import (
    AS_OF_TAG,
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES,
    FEATURES,
    FEATURES_TAG,
    MODEL_NAME,
)
from mlplatform.monitoring.baseline_binding import BaselineBinding, BaselineUnavailable
from mlplatform.monitoring.monitor_defs import (
    IncrementalBinding,
    RetrainBinding,
    monitor_definitions,
)
from mlplatform.project.model import InferenceLog, MonitorSchedule, QualityMonitor
from mlplatform.settings import Settings

CHURN_MONITOR = QualityMonitor(
    key="churn_predictor_inference",
    table_name="serving.churn_predictor_inference",
    output_schema_name="monitoring",
    inference_log=InferenceLog(
        problem_type="PROBLEM_TYPE_CLASSIFICATION",
        prediction_col="prediction",
        timestamp_col="timestamp",
        model_id_col="model_version",
        granularities=("1 hour", "1 day"),
        label_col="label",
    ),
    schedule=MonitorSchedule("0 0 * * * ?"),
)


def gold_baseline(settings: Settings, version: str, tags: dict[str, str]):
    """The baseline of a version trained on gold (before the training set existed): gold at the
    tagged Delta version, the model input computed at the tagged `as_of` for every customer."""
    from mlplatform.customers.model_input import features_for_scoring

    gold_version, as_of = tags.get(CUSTOMER_ML_FEATURES.version_tag), tags.get(AS_OF_TAG)
    missing = [
        t
        for t, v in ((CUSTOMER_ML_FEATURES.version_tag, gold_version), (AS_OF_TAG, as_of))
        if not v
    ]
    if missing:
        raise BaselineUnavailable(f"version {version} has no tag {' or '.join(missing)}")
    try:
        features = json.loads(tags.get(FEATURES_TAG) or "null") or FEATURES
        features = [f for f in FEATURES if f in features]
        gold = CUSTOMER_ML_FEATURES.store(settings).read(int(gold_version))
        frame = pl.from_pandas(features_for_scoring(gold, as_of, features))
    except Exception as err:  # noqa: BLE001 (vacuumed version, bad tag, schema: all say why)
        raise BaselineUnavailable(
            f"version {version}: cannot read gold version {gold_version} at as_of {as_of}: "
            f"{type(err).__name__}: {err}"
        ) from err
    return frame, int(gold_version), as_of


CHURN_BASELINES = BaselineBinding(
    model_name=MODEL_NAME,
    training_set=CHURN_TRAINING_SET.key,
    features=tuple(FEATURES),
    fallback=gold_baseline,
)
"""The churn model's versions: the training set they carry a tag of, else gold."""


def monitoring_definitions(training_job) -> dg.Definitions:
    """The demo monitor's definitions: the incremental engine's assets, drift checks,
    `monitoring_job`/`monitoring_hourly` and the `drift_retrain_sensor` launching
    `training_job`."""
    return monitor_definitions(
        CHURN_MONITOR,
        RetrainBinding(MODEL_NAME, training_job),
        IncrementalBinding(CHURN_BASELINES),
    )
