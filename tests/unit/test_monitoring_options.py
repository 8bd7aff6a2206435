"""Monitor options: YAML, precedence over the environment, custom metrics' validation."""

import re
from datetime import timedelta

import polars as pl
import pytest

from mlplatform.monitoring.assets import MonitoringConfig
from mlplatform.monitoring.config import MonitoringConfigError, Threshold
from mlplatform.monitoring.custom_metrics import parse_custom_metrics
from mlplatform.monitoring.loader import drift_rules, load_options, retrain_policy
from mlplatform.monitoring.monitor_config import MonitorOptions

YAML = """
granularities: ["30 minutes"]
slicing_exprs: ["total_events > 50", "model_version"]
max_slice_values: 7
problem_type: regression
label_col: truth
custom_metrics:
  - type: aggregate
    name: avg_log
    input_columns: [avg_amount]
    definition: "avg(ln({{input_column}} + 1))"
drift:
  thresholds: {js_distance: {warn: 0.3, error: 0.5}, tv_distance: null}
  min_rows: 20
retrain: {evaluation_windows: 4, violation_windows: 3, count_slices: true}
"""


@pytest.fixture
def monitor_yaml(tmp_path, monkeypatch):
    path = tmp_path / "monitor.yaml"
    path.write_text(YAML)
    monkeypatch.setenv("MLPLATFORM_MONITOR_CONFIG", str(path))
    return path


def test_defaults_without_a_file(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_MONITOR_CONFIG", raising=False)
    options = load_options()
    assert options == MonitorOptions()
    assert options.granularities == ("1 hour", "1 day")
    assert options.max_slice_values == 100 and options.slicing_exprs == ()
    assert options.columns == {
        "timestamp": "timestamp",
        "model_version": "model_version",
        "prediction": "prediction",
        "label": "label",
    }


def test_yaml_then_asset_config_take_precedence(monitor_yaml):
    options = load_options()
    assert options.granularities == ("30 minutes",)
    assert options.slicing_exprs == ("total_events > 50", "model_version")
    assert (options.max_slice_values, options.problem_type) == (7, "regression")
    assert options.columns["label"] == "truth"
    assert [m.name for m in options.custom_metrics] == ["avg_log"]
    # the asset config wins over the file, option by option
    run = MonitoringConfig(granularities=["1 day"], problem_type="classification").options()
    assert (run.granularities, run.problem_type) == (("1 day",), "classification")
    assert run.slicing_exprs == ("total_events > 50", "model_version")


def test_yaml_over_the_environment_over_defaults(monitor_yaml, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_DRIFT_MIN_ROWS", "999")
    monkeypatch.setenv("MLPLATFORM_DRIFT_ALPHA", "0.01")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_EVALUATION_WINDOWS", "9")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_COOLDOWN_HOURS", "2")
    rules = drift_rules()
    assert (rules.min_rows, rules.alpha) == (20, 0.01)  # YAML's min_rows, the env's alpha
    assert rules.thresholds == {
        "population_stability_index": Threshold(0.1, 0.25),
        "js_distance": Threshold(0.3, 0.5),
    }
    policy = retrain_policy()
    assert (policy.evaluation_windows, policy.violation_windows) == (4, 3)
    assert policy.cooldown == timedelta(hours=2) and policy.count_slices is True


@pytest.mark.parametrize(
    "text,message",
    [
        ("problem_type: ranking", "problem_type 'ranking' is not one of"),
        ("slicing_exprs: total_events", "slicing_exprs must be a list"),
        ("granularities: ['1 fortnight']", "granularity '1 fortnight'"),
        ("window: 3", "unknown monitor option(s) window"),
        ("- 1", "holds list, not a map"),
        ("retrain: {violation_windows: many}", "retrain.violation_windows='many' is not an int"),
        ("drift: {tresholds: {}}", "drift: unknown option(s) tresholds"),
        ("max_slice_values: 0", "max_slice_values 0 is below 1"),
    ],
)
def test_bad_yaml_is_named(tmp_path, monkeypatch, text, message):
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    monkeypatch.setenv("MLPLATFORM_MONITOR_CONFIG", str(path))
    with pytest.raises(MonitoringConfigError, match=re.escape(message)):
        load_options()
        drift_rules()
        retrain_policy()


def test_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_MONITOR_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(MonitoringConfigError, match="nope.yaml: no such file"):
        load_options()


def _metric(**kw):
    base = {"type": "aggregate", "name": "m", "input_columns": ["x"], "definition": "avg(x)"}
    return base | kw


@pytest.mark.parametrize(
    "item,message",
    [
        (_metric(type="window"), "type 'window' is not one of"),
        (_metric(name="a b"), "must be a SQL identifier"),
        (_metric(definition="py_eval({{input_column}})"), r"function\(s\) py_eval are not among"),
        (_metric(definition="avg({{column}})"), r"unknown template\(s\) \{\{column\}\}"),
        (_metric(output_data_type="decimal"), "output_data_type 'decimal'"),
        (_metric(input_columns=[]), "input_columns must be a non-empty list"),
        (_metric(type="drift", definition="avg(x)"), "a drift definition compares"),
        (
            _metric(type="drift", definition="{{current_df}}.z - {{base_df}}.z"),
            r"compares \['z'\], which are not aggregate",
        ),
        (_metric(definition="avg(x"), "definition is not SQL"),
        ({"name": "m"}, "missing"),
    ],
)
def test_bad_custom_metrics_are_named(item, message):
    with pytest.raises(MonitoringConfigError, match=message):
        parse_custom_metrics([item])


def test_custom_metric_sql_templates():
    aggregate, drift = parse_custom_metrics(
        [
            _metric(definition="avg({{input_column}} * 2)"),
            _metric(type="drift", name="d", definition="{{current_df}}.m - {{base_df}}.m"),
        ]
    )
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0]})
    assert frame.select(aggregate.expr("x")).item() == 4.0
    assert drift.sql("x") == '"current_df.m" - "base_df.m"'
