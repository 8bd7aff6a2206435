"""Runs launched through the instance that write one Delta table wait for each other: every
table writer is in the table's pool, and the pools have limit 1, enforced by the run queue."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from mlplatform.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_every_table_writer_is_in_its_tables_pool():
    pools = {}
    for asset in defs.assets:
        if isinstance(asset, dg.AssetsDefinition) and asset.op.pool:
            pools.update({k.to_user_string(): asset.op.pool for k in asset.keys})
    for key in (
        "bronze/raw_customer_events",
        "bronze/raw_customer_labels",
        "silver/cleaned_customer_events",
        "gold/customer_ml_features",
        "gold/customer_ml_features_history",
        "ml/churn_training_set",
        "online/customer_ml_features",
        "serving/churn_predictor_inference",
        "monitoring/churn_predictor_inference_profile_metrics",
        "monitoring/churn_predictor_inference_drift_metrics",
        "monitoring/table_quality",
    ):
        assert pools[key] == f"lakehouse/{key}", key
    # the quarantine is written by its table's update, in the table's pool
    assert pools["silver/cleaned_customer_events_quarantine"] == (
        "lakehouse/silver/cleaned_customer_events"
    )


def test_the_instance_limits_each_pool_to_one_run_in_the_queue(tmp_path):
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.pool_config.pool_granularity.value == "run"
        assert config.run_queue_config.max_concurrent_runs == 4
        limits = config.run_queue_config.tag_concurrency_limits
        assert limits == [{"key": "mlplatform/pipeline", "limit": 1}]
