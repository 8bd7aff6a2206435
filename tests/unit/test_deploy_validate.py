"""Offline validation against Dagster's config schemas, the Helm values schema, the Dockerfile."""

from __future__ import annotations

import copy

import pytest
import yaml

from mlplatform.deployment.bundle import DEFAULT_BUNDLE_DIR, load_bundle
from mlplatform.deployment.inventory import Inventory
from mlplatform.deployment.render import render
from mlplatform.deployment.validate import (
    validate_dockerfile,
    validate_helm_values,
    validate_instance,
    validate_workspace,
)

SCHEMA = DEFAULT_BUNDLE_DIR / "helm" / "values.schema.json"
ENV = {"MLPLATFORM_VAR_image_repository": "acme/mlplatform", "MLPLATFORM_DEPLOY_USER": "ci"}
DOCKERFILE = (DEFAULT_BUNDLE_DIR / "Dockerfile").read_text()


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def rendering(request):
    bundle = load_bundle(request.param, environ=ENV)
    return render(bundle, "abc123", {"mlplatform": Inventory()})


def test_rendered_files_of_every_target_validate(rendering):
    assert validate_instance(rendering.instance) == []
    assert validate_workspace(rendering.workspace) == []
    assert validate_helm_values(rendering.values, SCHEMA) == []
    assert validate_dockerfile(rendering.files["Dockerfile"], "mlplatform.definitions", 3030) == []


def test_repository_dagster_yaml_validates():
    instance = yaml.safe_load((DEFAULT_BUNDLE_DIR.parent / "dagster.yaml").read_text())
    assert validate_instance(instance) == []


def test_instance_errors_come_from_dagster_schema():
    assert validate_instance({"telemetry": {"enabled": "no"}}) == [
        'dagster.yaml: Invalid scalar at path root:telemetry:enabled. Value "no" of type '
        '"<class \'str\'>" is not valid for expected type "Bool".'
    ]
    [error] = validate_instance({"storage": {"postgres": {"postgres_db": {"hostname": "h"}}}})
    assert error.startswith("dagster.yaml: Missing required config entries")
    assert "db_name" in error and "username" in error


def test_pluggable_class_config_is_validated():
    instance = {
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": "four"},
        }
    }
    assert validate_instance(instance) == [
        "dagster.yaml: run_coordinator: Invalid scalar at path root:max_concurrent_runs. Value "
        '"four" of type "<class \'str\'>" is not valid for expected type "Int".'
    ]
    missing = {"run_coordinator": {"module": "dagster._core.run_coordinator", "class": "Nope"}}
    [error] = validate_instance(missing)
    assert error.startswith("dagster.yaml: run_coordinator: cannot import")


def test_workspace_errors():
    ws = {"load_from": [{"grpc_server": {"host": "h", "port": "x", "location_name": "l"}}]}
    assert validate_workspace(ws) == [
        'workspace.yaml: Invalid scalar at path root:load_from[0]:grpc_server:port. Value "x" of '
        'type "<class \'str\'>" is not valid for expected type "Int".'
    ]


def test_helm_values_schema_catches_our_mistakes(rendering):
    values = copy.deepcopy(rendering.values)
    dep = values["deployments"][0]
    dep["port"] = 70000
    dep["name"] = "Not_A_DNS_Label"
    dep["image"]["tag"] = "bad tag"
    dep["env"].append({"name": "X", "value": 1})
    dep["unknownKey"] = True
    errors = validate_helm_values(values, SCHEMA)
    joined = "\n".join(errors)
    assert "values.yaml: deployments.0.port: 70000 is greater than the maximum of 65535" in joined
    assert "values.yaml: deployments.0.name: 'Not_A_DNS_Label' does not match" in joined
    assert "values.yaml: deployments.0.image.tag: 'bad tag' does not match" in joined
    assert "deployments.0.env." in joined
    assert "Additional properties are not allowed ('unknownKey' was unexpected)" in joined


def test_secret_reference_shape_in_values(rendering):
    values = copy.deepcopy(rendering.values)
    values["deployments"][0]["env"].append(
        {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s"}}}
    )
    assert validate_helm_values(values, SCHEMA) != []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("python:3.11-slim-bookworm", "python:latest"),
            "Dockerfile: base image 'python:latest' must be pinned to a tag other than latest",
        ),
        (
            ("python:3.11-slim-bookworm", "python"),
            "Dockerfile: base image 'python' must be pinned to a tag other than latest",
        ),
        (
            ("EXPOSE 3030", "EXPOSE 8080"),
            "Dockerfile: EXPOSE 3030 missing (the code location's port)",
        ),
        (('"-p", "3030"', '"-p", "4000"'), "Dockerfile: CMD must listen on -p 3030"),
        (
            ('"-m", "mlplatform.definitions"', '"-m", "other"'),
            "Dockerfile: CMD must serve -m mlplatform.definitions",
        ),
        (
            ('CMD ["dagster", "api", "grpc"', 'CMD ["dagster", "dev"'),
            "Dockerfile: CMD must run `dagster api grpc`",
        ),
        (
            ("uv pip install --system --no-cache --compile-bytecode .", "true"),
            "Dockerfile: no RUN step installs the project (pip/uv install .)",
        ),
    ],
)
def test_dockerfile_checks(change, error):
    old, new = change
    assert old in DOCKERFILE
    errors = validate_dockerfile(DOCKERFILE.replace(old, new), "mlplatform.definitions", 3030)
    assert any(e.startswith(error) for e in errors), errors
