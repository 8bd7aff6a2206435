"""Targets: selection, overrides merged key by key, deployment modes, presets, and what
`mode: production` checks against the project's git checkout."""

import shutil
import subprocess
from pathlib import Path

import pytest

from mlplatform.project.bundle import BundleError
from tests.bundles import GOOD, load, write


def test_a_target_overrides_variables_and_merges_resources_key_by_key():
    project = load(target="prod")
    assert project.jobs["train"]["job_clusters"][0]["new_cluster"]["num_workers"] == 8
    assert project.pipelines["sales_pipeline"].configuration == {
        "sales.source": "/Volumes/prod/raw/sales",
        "sales.retries": "3",
        "sales.horizon_days": "30",
    }
    assert project.registered_models["sales_model"].full_name == "prod.forecast.forecast_model"


def test_development_mode_prefixes_names_pauses_schedules_and_marks_pipelines_development():
    project = load(target="dev")
    assert project.pipelines["sales_pipeline"].name == "[dev jane_doe] sales_pipeline_dev"
    assert project.pipelines["sales_pipeline"].development is True
    assert project.registered_models["sales_model"].name == "dev_jane_doe_forecast_model"
    assert project.experiments["sales_experiment"].name == (
        "/Users/jane.doe@example.com/[dev jane_doe] sales_forecast-experiment"
    )
    job = project.jobs["train"]
    assert job["name"] == "[dev jane_doe] train dev_jane_doe_forecast_model"
    assert job["schedule"]["pause_status"] == "PAUSED"
    assert job["tags"] == {"dev": "jane_doe"}
    assert project.config["resources"]["pipelines"]["sales_pipeline"]["tags"] == {"dev": "jane_doe"}
    assert project.quality_monitors["sales_monitor"].schedule.pause_status == "PAUSED"
    endpoint = project.model_serving_endpoints["sales_endpoint"]
    assert endpoint["name"] == "dev_jane_doe_sales-forecast"
    assert endpoint["config"]["served_entities"][0]["entity_name"] == (
        "dev.forecast.dev_jane_doe_forecast_model"
    )


def test_without_a_mode_names_and_schedules_stay_as_written():
    project = load(target="staging")
    assert project.pipelines["sales_pipeline"].development is False
    assert project.jobs["train"]["name"] == "train forecast_model"
    assert "pause_status" not in project.jobs["train"]["schedule"]
    assert project.quality_monitors["sales_monitor"].schedule.pause_status == "UNPAUSED"


PRESETS = """\
bundle:
  name: presets
resources:
  jobs:
    nightly:
      name: nightly
      schedule:
        quartz_cron_expression: 0 0 1 * * ?
        timezone_id: UTC
        pause_status: UNPAUSED
      trigger:
        file_arrival:
          url: /Volumes/main/raw/landing/
      tasks:
        - task_key: load
          notebook_task: {notebook_path: ./load.py}
        - task_key: score
          notebook_task: {notebook_path: ./score.py}
  pipelines:
    p:
      name: p
targets:
  dev:
    mode: development
    presets:
      name_prefix: "sandbox_"
      jobs_max_concurrent_runs: 4
      tags:
        team: forecasting
    resources:
      jobs:
        nightly:
          tasks:
            - task_key: score
              max_retries: 2
            - task_key: publish
              notebook_task: {notebook_path: ./publish.py}
"""


def test_presets_override_what_the_mode_brings_and_an_explicit_unpause_stays(tmp_path):
    project = load(write(tmp_path, PRESETS), target="dev")
    job = project.jobs["nightly"]
    assert job["name"] == "sandbox_nightly"
    assert job["schedule"]["pause_status"] == "UNPAUSED"
    assert job["trigger"]["pause_status"] == "PAUSED"
    assert job["max_concurrent_runs"] == 4
    assert job["tags"] == {"team": "forecasting"}
    assert project.pipelines["p"].name == "sandbox_p"
    assert project.pipelines["p"].development is True


def test_target_job_tasks_merge_by_task_key(tmp_path):
    tasks = load(write(tmp_path, PRESETS), target="dev").jobs["nightly"]["tasks"]
    assert tasks == [
        {"task_key": "load", "notebook_task": {"notebook_path": "./load.py"}},
        {"task_key": "score", "notebook_task": {"notebook_path": "./score.py"}, "max_retries": 2},
        {"task_key": "publish", "notebook_task": {"notebook_path": "./publish.py"}},
    ]


def test_a_wrong_type_in_a_target_override_names_the_target_file_line(tmp_path):
    write(
        tmp_path,
        "bundle:\n  name: b\nresources:\n  pipelines:\n    p:\n      name: p\n"
        "targets:\n  dev:\n    resources:\n      pipelines:\n        p:\n"
        "          development: yes please\n",
    )
    with pytest.raises(BundleError) as caught:
        load(tmp_path, target="dev")
    assert str(caught.value) == (
        'Error: expected a boolean, found a string: "yes please"\n'
        "  at resources.pipelines.p.development\n"
        "  in databricks.yml:12:11"
    )


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(GOOD, tmp_path / "project")
    folder = tmp_path / "project"
    git(folder, "init", "-q", "-b", "main")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    git(folder, "remote", "add", "origin", "https://example.com/team/sales.git")
    return folder


def test_git_values_come_from_the_project_checkout(repo):
    text = (
        (repo / "databricks.yml")
        .read_text()
        .replace(
            "    mode: production\n",
            "    mode: production\n    git:\n      branch: main\n"
            "    presets:\n      tags:\n        commit: ${bundle.git.commit}\n"
            "        branch: ${bundle.git.branch}\n        origin: ${bundle.git.origin_url}\n",
        )
    )
    write(repo, text)
    project = load(repo, target="prod")
    assert project.jobs["train"]["tags"] == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "origin": "https://example.com/team/sales.git",
    }


def test_production_mode_refuses_another_branch_than_the_configured_one(repo):
    write(
        repo,
        (repo / "databricks.yml")
        .read_text()
        .replace("    mode: production\n", "    mode: production\n    git:\n      branch: main\n"),
    )
    git(repo, "checkout", "-q", "-b", "feature")
    with pytest.raises(BundleError) as caught:
        load(repo, target="prod")
    assert str(caught.value) == (
        "Error: not on the right Git branch for 'mode: production': expected main, on feature\n"
        "  at bundle.git.branch\n"
        "  in databricks.yml:55:7"
    )
    assert load(repo, target="staging").target.name == "staging"


def test_environments_is_read_as_the_older_name_of_targets(tmp_path):
    write(tmp_path, "bundle:\n  name: b\nenvironments:\n  qa:\n    mode: development\n")
    project = load(tmp_path)
    assert (project.target.name, project.target.mode) == ("qa", "development")
