"""Good bundles: includes, anchors and merge keys, variables (complex too), `${...}` references,
resolved into the project model."""

from pathlib import Path

import pytest

from mlplatform.project.bundle import BundleError
from mlplatform.project.model import Library, Position
from tests.bundles import GOOD, USER, load, write


def test_the_default_target_is_the_one_marked_default():
    project = load()
    assert (project.name, project.target.name, project.target.mode) == (
        "sales_forecast",
        "dev",
        "development",
    )
    assert project.warnings == ()


def test_included_files_bring_their_resources_with_their_own_positions():
    project = load(target="staging")
    pipeline = project.pipelines["sales_pipeline"]
    assert pipeline.position == Position(
        Path("resources/pipeline.yml"), 3, "resources.pipelines.sales_pipeline", 5
    )
    assert pipeline.libraries == (Library(file=(GOOD / "src" / "sales_pipeline.py").resolve()),)
    assert (pipeline.catalog, pipeline.schema, pipeline.name) == (
        "staging",
        "forecast",
        "sales_pipeline_staging",
    )


def test_a_merge_key_copies_the_anchored_mapping_and_keys_beside_it_win():
    monitors = load(target="staging").quality_monitors
    sales, returns = monitors["sales_monitor"], monitors["returns_monitor"]
    assert sales.table_name == "staging.forecast.sales_predictions"
    assert returns.table_name == "staging.forecast.returns_predictions"
    assert returns.output_schema_name == sales.output_schema_name == "staging.monitoring"
    assert returns.inference_log == sales.inference_log
    assert returns.inference_log.problem_type == "PROBLEM_TYPE_REGRESSION"
    assert (sales.slicing_exprs, returns.slicing_exprs) == ((), ("region",))
    assert returns.schedule.quartz_cron_expression == "0 0 6 * * ?"


def test_a_whole_value_reference_keeps_the_type_of_the_value():
    project = load(target="staging")
    job = project.jobs["train"]
    assert job["job_clusters"][0]["new_cluster"] == {
        "spark_version": "15.4.x-scala2.12",
        "num_workers": 2,
    }
    assert job["tasks"][0]["max_retries"] == 3
    assert project.variables["retries"] == 3
    assert project.pipelines["sales_pipeline"].configuration == {
        "sales.source": "/Volumes/staging/raw/sales",
        "sales.retries": "3",
    }


def test_a_variable_default_may_refer_to_another_variable():
    assert load(target="prod").variables["model_name"] == "forecast_model"


def test_a_resource_reference_gives_its_name_or_id():
    job = load(target="staging").jobs["train"]
    assert job["tasks"][0]["notebook_task"]["base_parameters"] == {
        "model": "staging.forecast.forecast_model"
    }


def test_var_beats_the_environment_which_beats_the_target_which_beats_the_default():
    env = {"BUNDLE_VAR_catalog_name": "from_env", "BUNDLE_VAR_schema_name": "env_schema"}
    project = load(target="prod", variables={"catalog_name": "from_var"}, env=env)
    assert project.variables["catalog_name"] == "from_var"
    assert project.variables["schema_name"] == "env_schema"
    assert load(target="prod").variables["catalog_name"] == "prod"
    assert load(target="staging").variables["schema_name"] == "forecast"


def test_the_summary_configuration_has_the_api_shape_and_each_variable_value():
    config = load(target="staging").config
    assert sorted(config) == ["bundle", "include", "resources", "variables", "workspace"]
    assert config["bundle"]["name"] == "sales_forecast"
    assert config["bundle"]["target"] == "staging"
    assert config["variables"]["catalog_name"] == {
        "description": "The Unity Catalog catalog of the target.",
        "default": "dev",
        "value": "staging",
    }
    assert config["workspace"]["current_user"] == {
        "userName": USER,
        "short_name": "jane_doe",
        "domain_friendly_name": "jane_doe",
    }
    assert sorted(config["resources"]) == [
        "experiments",
        "jobs",
        "model_serving_endpoints",
        "pipelines",
        "quality_monitors",
        "registered_models",
    ]


def test_workspace_paths_and_the_python_face(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\n"
        "python:\n  resources:\n    - b.resources:load_resources\n"
        "  mutators:\n    - b.mutators:add_tags\n"
        "resources:\n  pipelines:\n    p:\n      name: p_${bundle.target}\n"
        "      configuration:\n        source: ${workspace.file_path}/data\n"
        "        owner: ${workspace.current_user.short_name}\n",
        "bundle.yml",
    )
    project = load(tmp_path)
    assert project.python_modules == ("b.resources:load_resources",)
    assert [str(w) for w in project.warnings] == [
        "Warning: python.mutators are not applied by mlplatform\n"
        "  at python.mutators\n  in bundle.yml:6:3"
    ]
    assert project.target.name == "default"
    assert project.pipelines["p"].name == "p_default"
    assert project.pipelines["p"].configuration == {
        "source": f"{tmp_path.resolve()}/data",
        "owner": "jane_doe",
    }


def test_a_python_resources_entry_must_name_module_and_function(tmp_path):
    write(tmp_path, "bundle:\n  name: b\npython:\n  resources:\n    - b.resources\n")
    with pytest.raises(BundleError) as caught:
        load(tmp_path)
    assert str(caught.value) == (
        'Error: python.resources entry "b.resources" is not <module>:<function>\n'
        "  at python.resources[0]\n"
        "  in databricks.yml:5:7"
    )


def test_a_bundle_is_found_from_a_folder_inside_the_project():
    assert load(GOOD / "src").name == "sales_forecast"


COMPLEX = """\
bundle:
  name: complex
variables:
  cluster:
    type: complex
    default:
      node_type_id: m5.large
      spark_conf:
        spark.sql.shuffle.partitions: 8
      init_scripts: [a.sh, b.sh]
resources:
  pipelines:
    p:
      name: p
      configuration:
        node: ${var.cluster.node_type_id}
        partitions: ${var.cluster.spark_conf.spark.sql.shuffle.partitions}
        second_script: ${var.cluster.init_scripts[1]}
"""


def test_a_field_of_a_complex_variable_is_a_reference_of_its_own(tmp_path):
    text = COMPLEX.replace("spark.sql.shuffle.partitions: 8", "shuffle: 8").replace(
        "spark_conf.spark.sql.shuffle.partitions", "spark_conf.shuffle"
    )
    project = load(write(tmp_path, text))
    assert project.pipelines["p"].configuration == {
        "node": "m5.large",
        "partitions": "8",
        "second_script": "b.sh",
    }


def test_a_complex_value_inside_a_string_is_an_error(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\nvariables:\n  c:\n    type: complex\n    default: {a: 1}\n"
        "resources:\n  experiments:\n    e:\n      name: /Users/me/${var.c}\n",
    )
    with pytest.raises(BundleError) as caught:
        load(tmp_path)
    assert str(caught.value) == (
        "Error: a mapping or sequence cannot be part of a string: ${var.c}\n"
        "  at resources.experiments.e.name\n"
        "  in databricks.yml:10:7"
    )


def test_a_resource_referring_to_itself_is_a_cycle(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\nresources:\n  experiments:\n    e:\n"
        "      name: /Users/me/${resources.experiments.e.name}\n",
    )
    with pytest.raises(BundleError) as caught:
        load(tmp_path)
    assert str(caught.value) == (
        "Error: cycle detected in field resolution: resources.experiments.e.name -> "
        "resources.experiments.e.name\n"
        "  at resources.experiments.e.name\n"
        "  in databricks.yml:6:7"
    )


def test_the_project_keeps_where_each_key_was_written():
    project = load(target="prod")
    notebook = "resources.jobs.train.tasks[0].notebook_task.notebook_path"
    assert project.positions[notebook] == Position(Path("resources/model.yml"), 25, notebook, 13)
    horizon = "resources.pipelines.sales_pipeline.configuration.sales.horizon_days"
    assert project.positions[horizon] == Position(Path("databricks.yml"), 63, horizon, 13)
    assert project.target.presets == {}
    assert load(target="dev").target.presets == {
        "name_prefix": "[dev jane_doe] ",
        "pipelines_development": True,
        "trigger_pause_status": "PAUSED",
        "tags": {"dev": "jane_doe"},
    }


def test_a_string_from_the_command_line_becomes_the_boolean_or_number_a_field_wants(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\nvariables:\n  dev:\n    default: false\n  version:\n    default: 1\n"
        "resources:\n  pipelines:\n    p:\n      name: p\n      development: ${var.dev}\n"
        "  registered_models:\n    m:\n      name: m\n"
        "      aliases:\n        - alias_name: champion\n          version_num: ${var.version}\n",
    )
    project = load(tmp_path, variables={"dev": "true", "version": "4"})
    assert project.pipelines["p"].development is True
    assert project.registered_models["m"].aliases[0].version_num == 4
    assert project.config["resources"]["pipelines"]["p"]["development"] is True
    assert load(tmp_path, variables={"dev": "false"}).pipelines["p"].development is False
    with pytest.raises(BundleError) as caught:
        load(tmp_path, variables={"dev": "maybe"})
    assert str(caught.value) == (
        'Error: expected a boolean, found a string: "maybe"\n'
        "  at resources.pipelines.p.development\n"
        "  in databricks.yml:12:7"
    )


def test_the_target_variable_overrides_file_comes_after_the_environment(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\nvariables:\n  catalog:\n    default: main\n"
        "  cluster:\n    type: complex\n    default: {workers: 1}\n"
        "targets:\n  dev:\n    default: true\n    variables:\n      catalog: dev\n",
    )
    folder = tmp_path / ".databricks" / "bundle" / "dev"
    folder.mkdir(parents=True)
    (folder / "variable-overrides.json").write_text(
        '{"catalog": "from_file", "cluster": {"workers": 3}}'
    )
    project = load(tmp_path)
    assert project.variables == {"catalog": "from_file", "cluster": {"workers": 3}}
    env = {"BUNDLE_VAR_catalog": "from_env"}
    assert load(tmp_path, env=env).variables["catalog"] == "from_env"
    (folder / "variable-overrides.json").write_text('{"colour": "red"}')
    with pytest.raises(BundleError) as caught:
        load(tmp_path)
    assert str(caught.value) == (
        "Error: variable colour is not defined but is assigned a value\n"
        "  at colour\n"
        "  in .databricks/bundle/dev/variable-overrides.json:1"
    )
