"""The rendered files of each target, key by key and value by value (definitions faked)."""

from __future__ import annotations

import json

import pytest
import yaml

from mlplatform.deployment.deployer import deploy
from mlplatform.deployment.inventory import Inventory

REPO = "registry.invalid/acme/mlplatform"
SHA = "0123456789abcdef0123456789abcdef01234567"


def fake_loader(calls: list | None = None):
    """An inventory loader that records its calls and reports statuses like the real one."""

    def load(spec, env):
        if calls is not None:
            calls.append((spec, dict(env)))
        status = "STOPPED" if spec.startswith("mlplatform.deployment.dev_location") else "RUNNING"
        return Inventory(
            assets={"bronze/raw_customer_events": "bronze", "gold/customer_ml_features": "gold"},
            checks=["gold/customer_ml_features:has_customer_id"],
            jobs=["feature_pipeline_job", "ml_training_job"],
            schedules={"nightly_refresh": status},
            sensors={"landing_file_arrival_sensor": status},
        )

    return load


def render_target(target, tmp_path, calls=None, **environ):
    env = {
        "MLPLATFORM_VAR_image_repository": REPO,
        "MLPLATFORM_DEPLOY_USER": "Alice.Smith",
        "GITHUB_REF_NAME": "main",
        **environ,
    }
    out = tmp_path / target
    result = deploy(
        target, image_tag=SHA, out=out, dry_run=True, environ=env, load=fake_loader(calls)
    )
    files = {p.name: p.read_text() for p in result.paths}
    return result, files


INSTANCE_BASE = {
    "telemetry": {"enabled": False},
    "nux": {"enabled": False},
    "run_coordinator": {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
    },
    "concurrency": {
        "runs": {
            "max_concurrent_runs": None,
            "tag_concurrency_limits": [{"key": "mlplatform/pipeline", "limit": 1}],
        },
        "pools": {"default_limit": 1, "granularity": "run"},
    },
    "run_retries": {"enabled": True, "max_retries": None},
    "freshness": {"enabled": True},
}


def expected_instance(max_runs: int, retries: int, storage: dict) -> dict:
    instance = json.loads(json.dumps(INSTANCE_BASE))
    instance["concurrency"]["runs"]["max_concurrent_runs"] = max_runs
    instance["run_retries"]["max_retries"] = retries
    instance["storage"] = storage
    return instance


POSTGRES = {
    "postgres": {
        "postgres_db": {
            "scheme": "postgresql+psycopg2",
            "hostname": {"env": "DAGSTER_PG_HOST"},
            "port": {"env": "DAGSTER_PG_PORT"},
            "username": {"env": "DAGSTER_PG_USER"},
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "db_name": {"env": "DAGSTER_PG_DB"},
        }
    }
}


@pytest.mark.parametrize(
    ("target", "instance"),
    [
        ("dev", expected_instance(2, 0, {"sqlite": {"base_dir": {"env": "DAGSTER_HOME"}}})),
        ("staging", expected_instance(4, 2, POSTGRES)),
        ("prod", expected_instance(10, 3, POSTGRES)),
    ],
)
def test_instance_of_each_target(target, instance, tmp_path):
    _, files = render_target(target, tmp_path)
    assert yaml.safe_load(files["dagster.yaml"]) == instance
    assert sorted(files) == [
        "Dockerfile",
        "automation.yaml",
        "dagster.yaml",
        "deploy.json",
        "monitor.yaml",
        "values.yaml",
        "workspace.yaml",
    ]


def test_prod_helm_values_exactly(tmp_path):
    _, files = render_target("prod", tmp_path)
    values = yaml.safe_load(files["values.yaml"])
    config_map = values.pop("extraManifests")
    assert values == {
        "dagsterHome": "/opt/dagster/dagster_home",
        "postgresqlSecretName": "mlplatform-prod-postgresql",
        "imagePullSecrets": [],
        "deployments": [
            {
                "name": "mlplatform",
                "image": {"repository": REPO, "tag": SHA, "pullPolicy": "Always"},
                "dagsterApiGrpcArgs": ["-m", "mlplatform.definitions", "-a", "defs"],
                "port": 3030,
                "includeConfigInLaunchedRuns": {"enabled": True},
                "env": [
                    {"name": "MLPLATFORM_ENV", "value": "prod"},
                    {"name": "MLPLATFORM_ENGINE", "value": "spark"},
                    {"name": "MLPLATFORM_HOME", "value": "/opt/mlplatform/prod"},
                    {
                        "name": "MLFLOW_TRACKING_URI",
                        "value": "http://mlflow.mlplatform-prod.svc.cluster.local:5000",
                    },
                    {
                        "name": "DAGSTER_PG_HOST",
                        "value": "postgresql.mlplatform-prod.svc.cluster.local",
                    },
                    {"name": "DAGSTER_PG_PORT", "value": "5432"},
                    {"name": "DAGSTER_PG_USER", "value": "mlplatform"},
                    {"name": "DAGSTER_PG_DB", "value": "dagster_prod"},
                    {
                        "name": "MLFLOW_TRACKING_TOKEN",
                        "valueFrom": {
                            "secretKeyRef": {"name": "mlplatform-prod-mlflow", "key": "token"}
                        },
                    },
                    {
                        "name": "MLPLATFORM_ONLINE_STORE_URI",
                        "valueFrom": {
                            "secretKeyRef": {"name": "mlplatform-prod-online-store", "key": "uri"}
                        },
                    },
                    {
                        "name": "MLPLATFORM_MONITOR_CONFIG",
                        "value": "/opt/dagster/dagster_home/monitor.yaml",
                    },
                ],
                "labels": {"app.kubernetes.io/part-of": "mlplatform", "mlplatform/target": "prod"},
                "resources": {
                    "requests": {"cpu": "2", "memory": "8Gi"},
                    "limits": {"memory": "12Gi"},
                },
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "mlplatform-data"}},
                    {"name": "instance", "configMap": {"name": "mlplatform-instance"}},
                ],
                "volumeMounts": [
                    {"name": "data", "mountPath": "/opt/mlplatform/prod"},
                    {
                        "name": "instance",
                        "mountPath": "/opt/dagster/dagster_home/dagster.yaml",
                        "subPath": "dagster.yaml",
                        "readOnly": True,
                    },
                    {
                        "name": "instance",
                        "mountPath": "/opt/dagster/dagster_home/monitor.yaml",
                        "subPath": "monitor.yaml",
                        "readOnly": True,
                    },
                ],
            }
        ],
    }
    [cm] = config_map
    assert (cm["kind"], cm["metadata"]["name"]) == ("ConfigMap", "mlplatform-instance")
    assert cm["data"]["dagster.yaml"] == files["dagster.yaml"]
    assert cm["data"]["workspace.yaml"] == files["workspace.yaml"]
    assert cm["data"]["monitor.yaml"] == files["monitor.yaml"]
    assert yaml.safe_load(files["monitor.yaml"])["slicing_exprs"] == ["model_version"]


def test_staging_values_differ_from_prod_only_where_the_target_says(tmp_path):
    _, files = render_target("staging", tmp_path)
    [dep] = yaml.safe_load(files["values.yaml"])["deployments"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in dep["env"]}
    assert env == {
        "MLPLATFORM_ENV": "staging",
        "MLPLATFORM_ENGINE": "spark",
        "MLPLATFORM_HOME": "/opt/mlplatform/staging",
        "MLFLOW_TRACKING_URI": "http://mlflow.mlplatform-staging.svc.cluster.local:5000",
        "DAGSTER_PG_HOST": "postgresql.mlplatform-staging.svc.cluster.local",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "mlplatform",
        "DAGSTER_PG_DB": "dagster_staging",
        "MLFLOW_TRACKING_TOKEN": {
            "secretKeyRef": {"name": "mlplatform-staging-mlflow", "key": "token"}
        },
        "MLPLATFORM_MONITOR_CONFIG": "/opt/dagster/dagster_home/monitor.yaml",
        "MLPLATFORM_ONLINE_STORE_URI": {
            "secretKeyRef": {"name": "mlplatform-staging-online-store", "key": "uri"}
        },
    }
    assert dep["name"] == "mlplatform"
    assert dep["image"] == {"repository": REPO, "tag": SHA, "pullPolicy": "Always"}
    assert dep["resources"] == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"memory": "4Gi"},
    }
    assert yaml.safe_load(files["workspace.yaml"]) == {
        "load_from": [
            {"grpc_server": {"host": "mlplatform", "port": 3030, "location_name": "mlplatform"}}
        ]
    }


def test_dev_prefixes_names_and_pauses_automation(tmp_path):
    calls = []
    result, files = render_target("dev", tmp_path, calls)
    values = yaml.safe_load(files["values.yaml"])
    [dep] = values["deployments"]
    assert dep["name"] == "dev-alice-smith-mlplatform"
    assert dep["dagsterApiGrpcArgs"] == ["-m", "mlplatform.deployment.dev_location", "-a", "defs"]
    assert {"name": "MLPLATFORM_DEPLOY_DEFINITIONS", "value": "mlplatform.definitions:defs"} in (
        dep["env"]
    )
    assert {"name": "MLPLATFORM_ENV", "value": "dev"} in dep["env"]
    assert (
        dep["volumes"][0]["persistentVolumeClaim"]["claimName"] == "dev-alice-smith-mlplatform-data"
    )
    assert values["extraManifests"][0]["metadata"]["name"] == "dev-alice-smith-mlplatform-instance"
    assert yaml.safe_load(files["workspace.yaml"]) == {
        "load_from": [
            {
                "grpc_server": {
                    "host": "dev-alice-smith-mlplatform",
                    "port": 3030,
                    "location_name": "dev-alice-smith-mlplatform",
                }
            }
        ]
    }
    # The loaded code location is the pausing wrapper, and what it loads is reported as paused.
    assert calls[0][0] == "mlplatform.deployment.dev_location:defs"
    assert calls[0][1]["MLPLATFORM_DEPLOY_DEFINITIONS"] == "mlplatform.definitions:defs"
    assert yaml.safe_load(files["automation.yaml"]) == {
        "dev-alice-smith-mlplatform": {
            "schedules": {"nightly_refresh": "STOPPED"},
            "sensors": {"landing_file_arrival_sensor": "STOPPED"},
        }
    }
    manifest = json.loads(files["deploy.json"])
    assert (manifest["release"], manifest["namespace"], manifest["mode"]) == (
        "dev-alice-smith-mlplatform",
        "mlplatform-dev",
        "development",
    )


def test_prod_keeps_names_and_automation(tmp_path):
    calls = []
    _, files = render_target("prod", tmp_path, calls)
    assert calls[0][0] == "mlplatform.definitions:defs"
    assert calls[0][1]["MLPLATFORM_ENV"] == "prod"
    assert yaml.safe_load(files["automation.yaml"]) == {
        "mlplatform": {
            "schedules": {"nightly_refresh": "RUNNING"},
            "sensors": {"landing_file_arrival_sensor": "RUNNING"},
        }
    }


def test_deploy_manifest_and_helm_command(tmp_path):
    result, files = render_target("prod", tmp_path)
    manifest = json.loads(files["deploy.json"])
    values_file = str((tmp_path / "prod" / "values.yaml").resolve())
    assert manifest["helm_command"] == [
        "helm",
        "upgrade",
        "--install",
        "mlplatform",
        "dagster-user-deployments",
        "--repo",
        "https://dagster-io.github.io/helm",
        "--version",
        "1.13.27",
        "--namespace",
        "mlplatform-prod",
        "--create-namespace",
        "--values",
        values_file,
        "--atomic",
        "--wait",
        "--timeout",
        "10m",
    ]
    assert manifest["image"] == f"{REPO}:{SHA}"
    assert manifest["inventory"] == {
        "mlplatform": {"assets": 2, "checks": 1, "jobs": 2, "schedules": 1, "sensors": 1}
    }
    assert not result.applied
    assert files["Dockerfile"].startswith("# syntax=docker/dockerfile:1")
