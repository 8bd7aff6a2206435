"""The definitions: a snapshot of the asset graph (a change to keys, groups, checks, jobs,
schedules or sensors is visible in review: update this file together with the change), Dagster
1.13's front door on the non-table assets (owners, code references, declarative automation, a
payload source observed for real), and a definitions import that stays cheap (every `dagster`
command and code-server start pays it)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from mlplatform import catalog
from mlplatform.definitions import defs
from mlplatform.deployment.pause import paused

# the medallion tables run on the lakehouse resource's engine, polars or spark
TABLE_KINDS = {"deltalake", "polars", "pyspark"}

ASSETS = {
    "bronze/raw_customer_events": ("bronze", TABLE_KINDS, set()),
    "bronze/raw_customer_labels": ("bronze", TABLE_KINDS, set()),
    "silver/cleaned_customer_events": (
        "silver",
        TABLE_KINDS,
        {"bronze/raw_customer_events"},
    ),
    "silver/cleaned_customer_events_quarantine": (
        "silver",
        TABLE_KINDS,
        {"bronze/raw_customer_events"},
    ),
    "gold/customer_ml_features": (
        "gold",
        TABLE_KINDS,
        {"silver/cleaned_customer_events"},
    ),
    "gold/customer_ml_features_history": (
        "gold",
        {"deltalake", "polars"},
        {"silver/cleaned_customer_events"},
    ),
    "ml/churn_training_set": (
        "ml",
        {"deltalake", "polars"},
        {"gold/customer_ml_features_history", "bronze/raw_customer_labels"},
    ),
    "online/customer_ml_features": (
        "online",
        {"sqlite", "postgres"},
        {"gold/customer_ml_features_history"},
    ),
    "ml/churn_model": ("ml", {"mlflow", "scikitlearn"}, {"ml/churn_training_set"}),
    "ml/churn_model_evaluation": ("ml", {"mlflow"}, {"ml/churn_model"}),
    "serving/churn_predictor_payload": ("serving", {"deltalake", "fastapi"}, set()),
    "serving/churn_predictor_inference": (
        "serving",
        {"deltalake", "polars"},
        {"serving/churn_predictor_payload", "bronze/raw_customer_labels"},
    ),
    "monitoring/churn_predictor_inference_profile_metrics": (
        "monitoring",
        {"deltalake", "polars"},
        {"serving/churn_predictor_inference"},
    ),
    "monitoring/churn_predictor_inference_drift_metrics": (
        "monitoring",
        {"deltalake", "polars"},
        {"serving/churn_predictor_inference"},
    ),
    "monitoring/table_quality": ("data_quality", {"deltalake", "polars"}, set()),
    # the demo project's second model, beside the first on the same features
    "ml/spend_training_set": (
        "ml",
        {"deltalake", "polars"},
        {
            "gold/customer_ml_features_history",
            "bronze/raw_customer_labels",
            "silver/cleaned_customer_events",
        },
    ),
    "ml/spend_model": ("ml", {"mlflow", "scikitlearn"}, {"ml/spend_training_set"}),
    "ml/spend_model_evaluation": ("ml", {"mlflow"}, {"ml/spend_model"}),
    "serving/spend_predictor_payload": ("serving", {"deltalake", "fastapi"}, set()),
    "serving/spend_predictor_inference": (
        "serving",
        {"deltalake", "polars"},
        {"serving/spend_predictor_payload"},
    ),
}
OBSERVED = {"serving/churn_predictor_payload", "serving/spend_predictor_payload"}  # sources
DELTA_TABLES = [
    name for name, (_, kinds, _) in ASSETS.items() if "deltalake" in kinds and name not in OBSERVED
]
CHECKS = {
    ("silver/cleaned_customer_events", "valid_customer_id"),
    ("silver/cleaned_customer_events", "valid_amount"),
    ("gold/customer_ml_features", "has_customer_id"),
    ("online/customer_ml_features", "online_store_in_sync"),
    ("ml/churn_model", "no_nan_predictions"),
    ("ml/churn_model", "roc_auc_above_floor"),
    ("ml/churn_model", "signature_matches_gold_schema"),
    ("ml/spend_model", "no_nan_predictions"),
    ("ml/spend_model", "relative_rmse_below_ceiling"),
    ("ml/spend_model", "signature_matches_gold_schema"),
    ("monitoring/churn_predictor_inference_drift_metrics", "baseline_drift_within_thresholds"),
    ("monitoring/churn_predictor_inference_drift_metrics", "consecutive_drift_within_thresholds"),
    *((t, check) for t in DELTA_TABLES for check in ("freshness", "completeness")),
}


def test_assets_groups_kinds_and_dependencies():
    graph = defs.resolve_asset_graph()
    found = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        parents = {p.to_user_string() for p in node.parent_keys}
        found[key.to_user_string()] = (node.group_name, set(node.kinds), parents)
    assert found.keys() == ASSETS.keys()
    for name, (group, kinds, parents) in ASSETS.items():
        assert found[name][0] == group, name
        assert found[name][1] == kinds, name
        assert found[name][2] == parents, name  # exactly: a new or lost edge shows here


def test_checks_jobs_schedules_and_sensors():
    graph = defs.resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == CHECKS
    jobs = {j.name for j in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert jobs == {
        "feature_pipeline_job",
        "ml_training_job",
        "monitoring_job",
        "promote_model",
        "spend_model_training_job",
        "promote_spend_model",
    }
    assert {s.name for s in defs.schedules} == {
        "ml_training_daily",
        "monitoring_hourly",
        "spend_model_training_daily",
    }
    assert {s.name for s in defs.sensors} == {
        "landing_file_arrival_sensor",
        "promote_model_sensor",
        "promote_spend_model_sensor",
        "drift_retrain_sensor",
        "automation_condition_sensor",
    }
    assert {s.cron_schedule for s in defs.schedules} == {"0 3 * * *", "0 * * * *", "30 3 * * *"}


# ---- the front door ----

PAYLOAD = dg.AssetKey(["serving", "churn_predictor_payload"])
INFERENCE = dg.AssetKey(["serving", "churn_predictor_inference"])
MONITORING = [
    dg.AssetKey(["monitoring", "churn_predictor_inference_profile_metrics"]),
    dg.AssetKey(["monitoring", "churn_predictor_inference_drift_metrics"]),
]
DRIFT = MONITORING[1]
MODEL = [dg.AssetKey(["ml", "churn_model"]), dg.AssetKey(["ml", "churn_model_evaluation"])]


def _spec(key: dg.AssetKey) -> dg.AssetSpec:
    return next(s for s in defs.resolve_all_asset_specs() if s.key == key)


def test_every_delta_table_shows_its_columns_before_its_first_run():
    """The catalog's schema (or the table's declaration) is in each spec: the UI shows every
    Delta table's name and columns on a fresh home."""
    from customer_churn.models import MODELS
    from customer_churn.tables import TABLES as PROJECT_TABLES

    from mlplatform.serving.served import ServedModel

    served = [ServedModel.from_lifecycle(lc) for lc in MODELS]
    all_tables = [
        *PROJECT_TABLES,
        *(t for s in served for t in (s.payload, s.inference)),
        catalog.PROFILE_METRICS,
        catalog.DRIFT_METRICS,
        catalog.TABLE_QUALITY,
    ]
    tables = {t.key: t for t in all_tables}
    delta = [name for name, (_, kinds, _) in ASSETS.items() if "deltalake" in kinds]
    assert len(delta) == len(all_tables) == 15
    for name in delta:
        spec = _spec(dg.AssetKey(name.split("/")))
        layer, table = name.split("/")
        assert spec.metadata["dagster/table_name"] == f"{layer}.{table}", name
        schema = spec.metadata.get("dagster/column_schema")
        assert isinstance(schema, dg.TableSchema) and schema.columns, name
        declared = tables[name].schema
        if declared:  # the catalog's fixed columns, in order, with their Delta types
            got = [(c.name, c.type) for c in schema.columns]
            assert got == [(c, catalog.delta_type(t)) for c, t in declared.items()], name
    columns = {c.name: c.type for c in _spec(DRIFT).metadata["dagster/column_schema"].columns}
    assert columns["ks_test"] == "struct<statistic:double,pvalue:double>"
    assert columns["window_start"] == "timestamp" and columns["count"] == "long"
    profile = _spec(MONITORING[0]).metadata["dagster/column_schema"].columns
    assert {c.name: c.type for c in profile}["frequent_items"] == (
        "array<struct<item:string,count:long>>"
    )
    payload = {c.name for c in _spec(PAYLOAD).metadata["dagster/column_schema"].columns}
    assert {"request_id", "status_code", "request", "response", "model_version"} <= payload


def test_owners_of_the_model_serving_and_monitoring_assets():
    assert {tuple(_spec(k).owners) for k in MODEL} == {("team:data-science",)}
    owners = {tuple(_spec(k).owners) for k in [PAYLOAD, INFERENCE, *MONITORING]}
    assert owners == {("team:ml-engineering",)}


def test_every_asset_points_at_the_code_that_defines_it():
    for spec in defs.resolve_all_asset_specs():
        refs = spec.metadata["dagster/code_references"].code_references
        assert refs, spec.key
        path = Path(refs[0].file_path)
        # the platform's code, or the project's (the demo under examples/)
        assert path.is_file() and {"mlplatform", "examples"} & set(path.parts), (spec.key, path)
        assert 1 <= refs[0].line_number <= len(path.read_text().splitlines()), spec.key


def test_declarative_automation_of_payload_inference_and_monitoring():
    assert _spec(INFERENCE).automation_condition.get_label() == "on_cron(0 * * * *, UTC)"
    for key in MONITORING:
        assert _spec(key).automation_condition.get_label() == "on_cron(0 * * * *, UTC)"
    assert _spec(PAYLOAD).automation_condition is not None
    sensor = next(s for s in defs.sensors if s.name == "automation_condition_sensor")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    targets = sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert targets == set(defs.resolve_asset_graph().get_all_asset_keys())  # payload included
    # the promotion stays the sensor-gated job and ingestion the file-arrival sensor
    assert _spec(MODEL[0]).automation_condition is None
    promote = next(s for s in defs.sensors if s.name == "promote_model_sensor")
    assert promote.job_name == "promote_model"
    dev = paused(defs)
    assert {s.name: s.default_status for s in dev.sensors}["automation_condition_sensor"] == (
        dg.DefaultSensorStatus.STOPPED
    )


def _observe(instance) -> dg.AssetObservation:
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=[PAYLOAD])
    assert result.success
    [record] = instance.fetch_observations(PAYLOAD, limit=1).records
    return record.asset_observation


def test_the_payload_table_is_observed_every_quarter_hour(home):
    with dg.DagsterInstance.ephemeral() as instance:
        start = datetime(2026, 12, 1, 10, 2, tzinfo=UTC)
        first = dg.evaluate_automation_conditions(defs, instance, evaluation_time=start)
        assert first.get_num_requested(PAYLOAD) == 0  # no tick has passed yet
        later = dg.evaluate_automation_conditions(
            defs, instance, evaluation_time=start + timedelta(minutes=14), cursor=first.cursor
        )
        assert later.get_num_requested(PAYLOAD) == 1  # the 10:15 tick
        assert later.get_num_requested(INFERENCE) == 0  # not before the hour
        absent = _observe(instance)
        assert absent.data_version == "absent"
        assert absent.metadata["dagster/row_count"].value == 0
        path = home / "lakehouse" / "serving" / "churn_predictor_payload"
        pl.DataFrame({"request_id": ["a", "b", "c"]}).write_delta(str(path))
        observed = _observe(instance)
        assert observed.data_version == "0"
        assert observed.metadata["dagster/row_count"].value == 3


def test_one_shot_run_processes_skip_reading_the_sources():
    code = (
        "import sys; sys.argv = ['dagster', 'api', 'execute_run']; "
        "import mlplatform.definitions as d; "
        "specs = d.defs.resolve_all_asset_specs(); "
        "print(len(specs), sum('dagster/code_references' in s.metadata for s in specs))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(defs.resolve_all_asset_specs())), "0"]


# ---- the import ----

HEAVY = ("numpy", "pandas", "pyarrow", "pyspark", "pandera", "mlflow", "sklearn", "scipy")


def test_the_definitions_import_no_numeric_or_engine_library():
    code = (
        "import sys, mlplatform.definitions; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
