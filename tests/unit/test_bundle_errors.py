"""Broken bundles (tests/data/bundles/broken): each error or warning names file, line and key,
as `databricks bundle validate` does."""

from pathlib import Path

import pytest

from mlplatform.project.bundle import BundleError, load_project, parse_var_options

BROKEN = Path(__file__).parents[1] / "data" / "bundles" / "broken"
GOOD = Path(__file__).parents[1] / "data" / "bundles" / "good"


def errors_of(folder: Path, **kwargs) -> list[str]:
    with pytest.raises(BundleError) as caught:
        load_project(folder, env={}, user_name="jane.doe@example.com", **kwargs)
    return [str(d) for d in caught.value.diagnostics]


def warnings_of(folder: Path, **kwargs) -> list[str]:
    project = load_project(folder, env={}, user_name="jane.doe@example.com", **kwargs)
    return [str(w) for w in project.warnings]


ERRORS = {
    "wrong_type": 'Error: expected a sequence, found a string: "src/orders.py"\n'
    "  at resources.pipelines.orders.libraries\n"
    "  in databricks.yml:8:7",
    "unresolvable_reference": "Error: reference does not exist: ${var.nope}\n"
    "  at resources.pipelines.orders.schema\n"
    "  in databricks.yml:13:7",
    "variable_without_value": "Error: no value assigned to required variable catalog: set a "
    'default, a value in target "dev", --var catalog=<value> or BUNDLE_VAR_catalog\n'
    "  at variables.catalog\n"
    "  in databricks.yml:5:3",
    "reference_cycle": "Error: cycle detected in field resolution: var.b -> var.a -> var.b\n"
    "  at variables.b.default\n"
    "  in databricks.yml:8:5",
    "two_default_targets": "Error: multiple targets are marked default: dev, staging; mark one\n"
    "  at targets.staging.default\n"
    "  in databricks.yml:8:5",
    "yaml_syntax_error": "Error: YAML syntax error: expected the node content, but found '-'\n"
    "  in databricks.yml:9:9",
    "lookup_variable": "Error: variable warehouse_id uses lookup, which mlplatform does not "
    "support: give it a default, a target value, --var or BUNDLE_VAR_warehouse_id\n"
    "  at variables.warehouse_id.lookup\n"
    "  in databricks.yml:6:5",
    "production_development_pipeline": "Error: target with 'mode: production' cannot include a "
    "pipeline with 'development: true'\n"
    "  at resources.pipelines.orders.development\n"
    "  in databricks.yml:8:7",
    "duplicate_resource": "Error: resources.experiments.exp is declared twice: in "
    "databricks.yml:9 and in resources/more.yml:5\n"
    "  at resources.experiments.exp\n"
    "  in resources/more.yml:5:5",
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_a_broken_bundle_names_file_line_and_key(case):
    assert errors_of(BROKEN / case) == [ERRORS[case]]


WARNINGS = {
    "unknown_top_level_key": [
        "Warning: unknown field: resource\n  at resource\n  in databricks.yml:4:1"
    ],
    "unknown_resource_field": [
        "Warning: unknown field: continous\n"
        "  at resources.pipelines.orders.continous\n"
        "  in databricks.yml:13:7"
    ],
    "unknown_resource_kind": [
        "Warning: resource kind clusters is not supported by mlplatform\n"
        "  at resources.clusters\n"
        "  in databricks.yml:5:3",
        "Warning: unknown resource kind: widgets\n  at resources.widgets\n  in databricks.yml:8:3",
    ],
    "include_matches_nothing": [
        "Warning: include pattern resources/*.yml matched no files\n"
        "  at include[0]\n"
        "  in databricks.yml:5:5"
    ],
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_a_questionable_bundle_loads_with_warnings_naming_file_line_and_key(case):
    assert warnings_of(BROKEN / case) == WARNINGS[case]


def test_an_unknown_field_is_kept_not_dropped():
    project = load_project(BROKEN / "unknown_resource_field", env={}, user_name="jane")
    assert project.config["resources"]["pipelines"]["orders"]["continous"] is True
    assert project.pipelines["orders"].continuous is False


def test_an_unsupported_kind_is_kept_in_the_configuration():
    project = load_project(BROKEN / "unknown_resource_kind", env={}, user_name="jane")
    assert project.config["resources"]["clusters"] == {"shared": {"cluster_name": "shared"}}
    assert list(project.registered_models) == ["model"]


def test_an_unknown_target_names_the_targets_the_bundle_declares():
    assert errors_of(GOOD, target="qa2") == [
        'Error: unknown target "qa2": the bundle declares dev, staging, prod\n'
        "  at targets\n"
        "  in databricks.yml:45:1"
    ]


def test_the_variable_a_target_sets_is_enough():
    project = load_project(
        BROKEN / "variable_without_value", target="prod", env={}, user_name="jane"
    )
    assert project.registered_models["model"].full_name == "prod.ml.model"


def test_a_variable_given_in_the_environment_is_enough():
    project = load_project(
        BROKEN / "variable_without_value", env={"BUNDLE_VAR_catalog": "qa"}, user_name="jane"
    )
    assert project.registered_models["model"].catalog == "qa"


@pytest.mark.parametrize("option", ["catalog", "=x", ""])
def test_a_var_option_without_name_and_value_is_refused(option):
    with pytest.raises(BundleError) as caught:
        parse_var_options(["schema=ml", option])
    assert str(caught.value) == (
        f'Error: invalid --var "{option}": expected <variable-name>=<value>'
    )


def test_a_var_option_may_hold_equals_signs():
    assert parse_var_options(["filter=a=b", "empty="]) == {"filter": "a=b", "empty": ""}


def test_a_var_for_an_undeclared_variable_is_refused():
    assert errors_of(GOOD, variables={"colour": "red"}) == [
        "Error: variable colour has not been defined (given with --var colour=...)"
    ]


def test_a_complex_variable_cannot_come_from_the_command_line():
    assert errors_of(GOOD, variables={"cluster": "big"}) == [
        "Error: complex variable cluster cannot be set with --var or BUNDLE_VAR_cluster"
    ]


def test_a_complex_value_for_a_simple_variable_is_refused(tmp_path):
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\nvariables:\n  catalog:\n    default:\n      a: 1\n"
    )
    assert errors_of(tmp_path) == [
        'Error: variable catalog is given a complex value but is not declared "type: complex"\n'
        "  at variables.catalog.default\n"
        "  in databricks.yml:5:5"
    ]


def test_a_folder_without_a_bundle_file_says_which_names_it_looked_for(tmp_path):
    assert errors_of(tmp_path) == [
        "Error: unable to locate bundle root: no databricks.yml, databricks.yaml, bundle.yml, "
        f"bundle.yaml in {tmp_path.resolve()} or a folder above it"
    ]


def test_a_monitor_without_its_profile_is_an_error(tmp_path):
    (tmp_path / "bundle.yml").write_text(
        "bundle:\n  name: b\n"
        "resources:\n  quality_monitors:\n    m:\n      table_name: main.s.t\n"
        "      output_schema_name: main.s\n"
        "      inference_log:\n        problem_type: PROBLEM_TYPE_RANKING\n"
    )
    assert errors_of(tmp_path) == [
        "Error: missing required field: prediction_col\n"
        "  at resources.quality_monitors.m.inference_log.prediction_col\n"
        "  in bundle.yml:8:7",
        "Error: missing required field: timestamp_col\n"
        "  at resources.quality_monitors.m.inference_log.timestamp_col\n"
        "  in bundle.yml:8:7",
        "Error: missing required field: model_id_col\n"
        "  at resources.quality_monitors.m.inference_log.model_id_col\n"
        "  in bundle.yml:8:7",
        "Error: missing required field: granularities\n"
        "  at resources.quality_monitors.m.inference_log.granularities\n"
        "  in bundle.yml:8:7",
        'Error: problem_type is "PROBLEM_TYPE_RANKING": expected one of '
        "PROBLEM_TYPE_CLASSIFICATION, PROBLEM_TYPE_REGRESSION\n"
        "  at resources.quality_monitors.m.inference_log.problem_type\n"
        "  in bundle.yml:9:9",
    ]


def test_a_key_written_twice_in_one_mapping_is_an_error_not_a_silent_override(tmp_path):
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\n"
        "resources:\n  experiments:\n    e:\n      name: /Users/me/e\n"
        "resources:\n  pipelines:\n    p:\n      name: p\n"
    )
    assert errors_of(tmp_path) == [
        "Error: key resources is written twice in one mapping (first on line 3)\n"
        "  at resources\n"
        "  in databricks.yml:7:1"
    ]


def test_an_error_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "databricks.yml").write_text("bundle:\n  name: b\ninclude:\n  - '**/*.yml'\n")
    (tmp_path / "resources" / "ml").mkdir(parents=True)
    (tmp_path / "resources" / "ml" / "model.yml").write_text(
        "resources:\n  registered_models:\n    m:\n      name: m\n      aliases: champion\n"
    )
    assert errors_of(tmp_path) == [
        'Error: expected a sequence, found a string: "champion"\n'
        "  at resources.registered_models.m.aliases\n"
        "  in resources/ml/model.yml:5:7"
    ]
    (tmp_path / "resources" / "ml" / "model.yml").write_text("resources:\n  - [\n")
    assert errors_of(tmp_path) == [
        "Error: YAML syntax error: expected the node content, but found '<stream end>'\n"
        "  in resources/ml/model.yml:3:1"
    ]


def test_two_bundle_files_in_one_folder_are_an_error(tmp_path):
    (tmp_path / "databricks.yaml").write_text("bundle:\n  name: a\n")
    assert load_project(tmp_path, env={}, user_name="jane").name == "a"
    (tmp_path / "bundle.yml").write_text("bundle:\n  name: b\n")
    assert errors_of(tmp_path) == [
        "Error: multiple bundle root configuration files found in "
        f"{tmp_path.resolve()}: databricks.yaml, bundle.yml"
    ]


def test_a_bundle_without_a_name_is_an_error(tmp_path):
    (tmp_path / "databricks.yml").write_text("bundle:\n  uuid: 0000\n")
    assert errors_of(tmp_path) == [
        "Error: bundle.name is required\n  at bundle\n  in databricks.yml:1:1"
    ]


SHAPES = {
    "bundle: 5\n": "Error: expected a mapping, found an integer: 5\n  at bundle\n"
    "  in databricks.yml:1:1",
    "bundle:\n  name: b\ntargets: [a]\n": "Error: expected a mapping, found a sequence\n"
    "  at targets\n  in databricks.yml:3:1",
    "bundle:\n  name: b\nvariables: x\n": 'Error: expected a mapping, found a string: "x"\n'
    "  at variables\n  in databricks.yml:3:1",
    "bundle:\n  name: b\ninclude: [3]\n": "Error: an include pattern is a string, not 3\n"
    "  at include[0]\n  in databricks.yml:3:11",
    "bundle:\n  name: b\nvariables:\n  a:\n    type: strange\n    default: 1\n": "Error: "
    'variable a has type "strange": the only type is "complex"\n'
    "  at variables.a.type\n  in databricks.yml:5:5",
    "bundle:\n  name: b\nvariables:\n  a:\n    default: 1\n"
    "targets:\n  t:\n    variables:\n      a: {lookup: {cluster: x}}\n": "Error: variable a uses "
    "lookup, which mlplatform does not support\n  at targets.t.variables.a\n"
    "  in databricks.yml:9:7",
    "bundle:\n  name: b\nx: !!python/object:os.system ls\n": "Error: YAML syntax error: could "
    "not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'\n"
    "  in databricks.yml:3:4",
}


@pytest.mark.parametrize("text", sorted(SHAPES))
def test_a_section_of_the_wrong_shape_is_an_error_not_a_crash(tmp_path, text):
    (tmp_path / "databricks.yml").write_text(text)
    assert errors_of(tmp_path) == [SHAPES[text]]


def test_a_monitor_granularity_and_metric_type_must_be_lakehouse_monitoring_s(tmp_path):
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\n"
        "resources:\n  quality_monitors:\n    m:\n      table_name: main.s.t\n"
        "      output_schema_name: main.s\n"
        "      time_series:\n        timestamp_col: ts\n        granularities: [1 day, 2 days]\n"
        "      custom_metrics:\n"
        "        - {name: m, type: CUSTOM_METRIC_TYPE_AGGREGATE, definition: avg(x),\n"
        "           input_columns: [x], output_data_type: double}\n"
        "        - name: n\n          type: AGGREGATE\n"
    )
    assert errors_of(tmp_path) == [
        'Error: granularity "2 days" is not one of 5 minutes, 30 minutes, 1 hour, 1 day, '
        "1 week, 2 weeks, 3 weeks, 4 weeks, 1 month, 1 year\n"
        "  at resources.quality_monitors.m.time_series.granularities[1]\n"
        "  in databricks.yml:10:32",
        'Error: custom metric type is "AGGREGATE": expected one of CUSTOM_METRIC_TYPE_AGGREGATE, '
        "CUSTOM_METRIC_TYPE_DERIVED, CUSTOM_METRIC_TYPE_DRIFT\n"
        "  at resources.quality_monitors.m.custom_metrics[1].type\n"
        "  in databricks.yml:15:11",
    ]
