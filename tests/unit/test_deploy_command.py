"""`mlplatform deploy` as a person runs it: options, messages, exit codes, helm, real defs."""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml
from click.testing import CliRunner

from mlplatform.deployment import deployer
from mlplatform.deployment.command import deploy_command
from mlplatform.deployment.inventory import Inventory

CONTRACT_ASSETS = {
    "bronze/raw_customer_events",
    "silver/cleaned_customer_events",
    "gold/customer_ml_features",
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_VAR_image_repository", "acme/mlplatform")
    monkeypatch.setenv("MLPLATFORM_DEPLOY_USER", "bob")
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return monkeypatch


@pytest.fixture
def fake_definitions(env):
    env.setattr(
        deployer,
        "default_loader",
        lambda spec, e: Inventory(
            assets={"bronze/raw_customer_events": "bronze"}, jobs=["ml_training_job"]
        ),
    )


def invoke(*args):
    return CliRunner().invoke(deploy_command, list(args), catch_exceptions=False)


def test_help_lists_every_option():
    result = invoke("--help")
    assert result.exit_code == 0
    for text in (
        "--target [dev|staging|prod]",
        "--image-tag TAG",
        "--out DIRECTORY",
        "--dry-run",
        "helm upgrade --install",
    ):
        assert text in result.output
    assert "--bundle-dir" not in result.output


def test_unknown_target_is_a_usage_error():
    result = invoke("--target", "qa", "--dry-run")
    assert result.exit_code == 2
    assert "Invalid value for '--target' / '-t': 'qa' is not one of 'dev', 'staging', 'prod'" in (
        result.output
    )


def test_missing_variable_message(env, tmp_path):
    env.delenv("MLPLATFORM_VAR_image_repository")
    result = invoke("--target", "prod", "--dry-run", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "Error: variable 'image_repository' has no value for target 'prod'" in result.output


def test_without_helm_the_renders_are_written_and_the_error_is_clear(
    env, fake_definitions, tmp_path
):
    env.setenv("PATH", str(tmp_path / "empty-bin"))
    out = tmp_path / "o"
    result = invoke("--target", "staging", "--image-tag", "abc", "--out", str(out))
    assert result.exit_code == 1
    assert "helm is not installed (not on PATH), so nothing was applied; the manifests are in" in (
        result.output
    )
    assert (out / "values.yaml").is_file() and (out / "deploy.json").is_file()


def fake_helm(tmp_path, exit_code=0):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    record = tmp_path / "helm-args.json"
    helm.write_text(
        "#!/bin/sh\n"
        f'python3 -c \'import json,sys; json.dump(sys.argv[1:], open("{record}", "w"))\''
        ' "$@"\n'
        f"exit {exit_code}\n"
    )
    helm.chmod(helm.stat().st_mode | stat.S_IXUSR)
    return bin_dir, record


def test_helm_without_a_cluster(env, fake_definitions, tmp_path):
    bin_dir, record = fake_helm(tmp_path)
    env.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = invoke("--target", "staging", "--image-tag", "abc", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "no Kubernetes cluster is configured" in result.output
    assert not record.exists()


@pytest.mark.parametrize("helm_exit", [0, 1])
def test_apply_runs_helm_upgrade_install_atomic(env, fake_definitions, tmp_path, helm_exit):
    bin_dir, record = fake_helm(tmp_path, helm_exit)
    env.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    env.setenv("KUBECONFIG", str(kubeconfig))
    out = tmp_path / "o"
    result = invoke("--target", "prod", "--image-tag", "abc", "--out", str(out))
    assert json.loads(record.read_text()) == [
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
        str((out / "values.yaml").resolve()),
        "--atomic",
        "--wait",
        "--timeout",
        "10m",
    ]
    if helm_exit == 0:
        assert result.exit_code == 0, result.output
        assert "applied: helm upgrade --install mlplatform" in result.output
    else:
        assert result.exit_code == 1
        assert "helm failed (exit 1); --atomic rolled the release back" in result.output


def test_prod_dry_run_with_the_real_definitions(env, tmp_path):
    out = tmp_path / "prod"
    env.setenv("GITHUB_REF_NAME", "7/merge")
    result = invoke("--target", "prod", "--dry-run", "--image-tag", "deadbeef", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Warning: target 'prod' (mode production) deploys only from branch 'main'" in (
        result.output
    )
    assert "dry run: nothing applied; to apply: helm upgrade --install mlplatform" in result.output
    manifest = json.loads((out / "deploy.json").read_text())
    assert manifest["inventory"]["mlplatform"]["assets"] >= len(CONTRACT_ASSETS)
    assert manifest["image"] == "acme/mlplatform:deadbeef"


def test_dev_dry_run_pauses_every_real_schedule_and_sensor(env, tmp_path):
    out = tmp_path / "dev"
    result = invoke("--target", "dev", "--dry-run", "--image-tag", "dev", "--out", str(out))
    assert result.exit_code == 0, result.output
    automation = yaml.safe_load((out / "automation.yaml").read_text())
    assert list(automation) == ["dev-bob-mlplatform"]
    statuses = {
        **automation["dev-bob-mlplatform"]["schedules"],
        **automation["dev-bob-mlplatform"]["sensors"],
    }
    assert set(statuses.values()) <= {"STOPPED"}
