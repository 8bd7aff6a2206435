"""Every refusal of `mlplatform deploy` says what is wrong and where (definitions faked)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from mlplatform.deployment.bundle import DEFAULT_BUNDLE_DIR, load_bundle
from mlplatform.deployment.deployer import deploy
from mlplatform.deployment.errors import DeployError
from mlplatform.deployment.inventory import Inventory

ENV = {
    "MLPLATFORM_VAR_image_repository": "acme/mlplatform",
    "GITHUB_REF_NAME": "main",
    "MLPLATFORM_DEPLOY_USER": "ci",
    "PATH": "/nonexistent",
}


def fake_load(spec, env):
    return Inventory(assets={"bronze/raw_customer_events": "bronze"}, jobs=["ml_training_job"])


def bundle_copy(tmp_path, file="targets/prod.yaml", edit=None):
    """A copy of deploy/ with `edit(data)` applied to one of its YAML files."""
    root = tmp_path / "repo" / "deploy"
    shutil.copytree(DEFAULT_BUNDLE_DIR, root)
    if edit:
        path = root / file
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data))
    return root


def run(target, bundle_dir=None, tmp_path=None, dry_run=True, **env):
    environ = {**ENV, **env}
    environ = {k: v for k, v in environ.items() if v is not None}
    return deploy(
        target,
        image_tag="abc123",
        out=tmp_path / "out" if tmp_path else None,
        dry_run=dry_run,
        bundle_dir=bundle_dir,
        environ=environ,
        load=fake_load,
    )


def test_unknown_target(tmp_path):
    with pytest.raises(
        DeployError,
        match=r"unknown target 'qa': deploy/targets defines dev, "
        r"prod, staging",
    ):
        run("qa", tmp_path=tmp_path)


def test_missing_variable(tmp_path):
    with pytest.raises(DeployError) as err:
        run("staging", tmp_path=tmp_path, MLPLATFORM_VAR_image_repository=None)
    assert str(err.value) == (
        "variable 'image_repository' has no value for target 'staging' (repository of the "
        "code-location image, without tag), used at image.repository: set "
        "MLPLATFORM_VAR_image_repository or give it a value under variables: in "
        "deploy/targets/staging.yaml"
    )
    assert not (tmp_path / "out").exists()


def test_variable_from_environment_wins_over_target(tmp_path):
    bundle = load_bundle("prod", environ={**ENV, "MLPLATFORM_VAR_storage_root": "/mnt/lake"})
    assert bundle.config["resources"]["storage_root"] == "/mnt/lake"
    assert load_bundle("prod", environ=ENV).config["resources"]["storage_root"] == (
        "/opt/mlplatform/prod"
    )


def test_unknown_reference(tmp_path):
    root = bundle_copy(tmp_path, edit=lambda d: d["helm"]["env"].update(X="${var.nope}"))
    with pytest.raises(DeployError, match=r"helm\.env\.X: unknown reference \$\{var\.nope\}"):
        run("prod", root, tmp_path)


def test_unknown_top_level_key(tmp_path):
    root = bundle_copy(tmp_path, edit=lambda d: d.update(helmet={}))
    with pytest.raises(DeployError, match=r"targets/prod.yaml: unknown top-level key\(s\) helmet"):
        run("prod", root, tmp_path)


def test_literal_secret_in_prod_is_refused(tmp_path):
    root = bundle_copy(
        tmp_path,
        edit=lambda d: d["helm"]["secrets"].update(MLFLOW_TRACKING_TOKEN="not-a-reference"),
    )
    with pytest.raises(DeployError) as err:
        run("prod", root, tmp_path)
    message = str(err.value)
    assert "target 'prod' (mode production) requires every secret to come from a secret " in message
    assert "helm.secrets.MLFLOW_TRACKING_TOKEN is a literal value" in message
    assert "deploy/targets/prod.yaml" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("edit", "found"),
    [
        (
            lambda d: d["helm"]["env"].update(API_TOKEN="abc"),
            "helm.env.API_TOKEN looks like a secret but is a literal value",
        ),
        (
            lambda d: d["instance"]["storage"]["postgres"]["postgres_db"].update(password="pw"),
            "instance.storage.postgres.postgres_db.password is a literal secret",
        ),
        (
            lambda d: d["helm"]["env"].update(DB_URL="postgresql://u:" + "hunter22@db/x"),
            "helm.env.DB_URL (a URL with a password) is a literal secret",
        ),
    ],
)
def test_other_literal_secrets_in_prod(tmp_path, edit, found):
    root = bundle_copy(tmp_path, edit=edit)
    with pytest.raises(DeployError, match="never a literal") as err:
        run("prod", root, tmp_path)
    assert found in str(err.value)


def test_literal_secret_outside_prod_is_a_warning(tmp_path):
    root = bundle_copy(
        tmp_path,
        "targets/staging.yaml",
        lambda d: d["helm"]["secrets"].update(MLFLOW_TRACKING_TOKEN="not-a-reference"),
    )
    result = run("staging", root, tmp_path)
    assert result.warnings == [
        "helm.secrets.MLFLOW_TRACKING_TOKEN is a literal value (allowed outside production)"
    ]
    values = yaml.safe_load((tmp_path / "out" / "values.yaml").read_text())
    assert {"name": "MLFLOW_TRACKING_TOKEN", "value": "not-a-reference"} in (
        values["deployments"][0]["env"]
    )


@pytest.mark.parametrize("port", [70000, 0, "http", -1])
def test_invalid_code_location_port(tmp_path, port):
    root = bundle_copy(
        tmp_path, "base.yaml", lambda d: d["code_locations"]["mlplatform"].update(port=port)
    )
    with pytest.raises(DeployError) as err:
        run("staging", root, tmp_path)
    assert f"code_locations.mlplatform.port: {port!r} is not a valid TCP port (1-65535)" in str(
        err.value
    )


def test_invalid_env_port(tmp_path):
    root = bundle_copy(tmp_path, edit=lambda d: d["helm"]["env"].update(DAGSTER_PG_PORT="99999"))
    with pytest.raises(DeployError, match=r"helm\.env\.DAGSTER_PG_PORT: '99999' is not a valid "):
        run("prod", root, tmp_path)


def test_prod_refuses_a_branch_other_than_main(tmp_path):
    with pytest.raises(DeployError) as err:
        run("prod", tmp_path=tmp_path, dry_run=False, GITHUB_REF_NAME="feature/x")
    assert (
        "target 'prod' (mode production) deploys only from branch 'main', not from "
        "'feature/x'" in str(err.value)
    )
    assert not (tmp_path / "out").exists()


def test_prod_dry_run_from_a_branch_only_warns(tmp_path):
    result = run("prod", tmp_path=tmp_path, GITHUB_REF_NAME="42/merge")
    assert result.warnings == [
        "target 'prod' (mode production) deploys only from branch 'main', not from '42/merge' "
        "(GITHUB_REF_NAME, else git); a real deploy would refuse"
    ]


def test_prod_branch_falls_back_to_git(tmp_path):
    root = bundle_copy(tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "feature", str(root.parent)], check=True)
    with pytest.raises(DeployError, match="not from 'feature'"):
        run("prod", root, tmp_path, dry_run=False, GITHUB_REF_NAME=None)


def test_staging_has_no_branch_rule(tmp_path):
    with pytest.raises(DeployError, match="helm is not installed"):
        run("staging", tmp_path=tmp_path, dry_run=False, GITHUB_REF_NAME="feature/x")


def test_prod_refuses_latest(tmp_path):
    with pytest.raises(DeployError, match="needs an immutable image tag"):
        deploy("prod", image_tag="latest", out=tmp_path, dry_run=True, environ=ENV, load=fake_load)


def test_instance_reads_a_variable_the_container_lacks(tmp_path):
    root = bundle_copy(tmp_path, edit=lambda d: d["helm"]["env"].pop("DAGSTER_PG_HOST"))
    with pytest.raises(DeployError) as err:
        run("prod", root, tmp_path)
    assert (
        "variable DAGSTER_PG_HOST is missing: the instance config reads it "
        "({env: DAGSTER_PG_HOST}) but the container gets it from neither helm.env nor "
        "helm.secrets"
    ) in str(err.value)


def test_contract_values(tmp_path):
    def edit(d):
        d["resources"].update(
            engine="duckdb", storage_root="relative/path", tracking_uri="mlflow-server:5000"
        )
        d["helm"]["env"]["MLPLATFORM_ENV"] = "prod"

    root = bundle_copy(tmp_path, edit=edit)
    with pytest.raises(DeployError) as err:
        run("prod", root, tmp_path)
    message = str(err.value)
    assert "resources.engine: 'duckdb' is not one of polars, spark" in message
    assert "resources.storage_root: 'relative/path' must be an absolute path" in message
    assert "resources.tracking_uri: 'mlflow-server:5000' has no known scheme" in message
    assert "helm: MLPLATFORM_ENV is set by the renderer" in message


def test_definitions_that_do_not_load(tmp_path):
    def broken(spec, env):
        raise DeployError(f"the Dagster definitions {spec} failed to load (exit 1):\nBoom")

    with pytest.raises(DeployError, match="failed to load"):
        deploy("staging", image_tag="abc", out=tmp_path, dry_run=True, environ=ENV, load=broken)


def test_workflow_names_must_exist(tmp_path):
    root = bundle_copy(
        tmp_path,
        "base.yaml",
        lambda d: d["workflows"].update(smoke_assets=["bronze/nope"], retrain_job="no_such_job"),
    )
    with pytest.raises(DeployError) as err:
        run("staging", root, tmp_path)
    assert "workflows.smoke_assets: asset 'bronze/nope' is not in the code location" in str(
        err.value
    )
    assert "workflows.retrain_job: job 'no_such_job' is not in the code location" in str(err.value)


def test_postgres_password_secret_uses_the_charts_key(tmp_path):
    root = bundle_copy(
        tmp_path,
        "targets/staging.yaml",
        lambda d: d["helm"]["secrets"]["DAGSTER_PG_PASSWORD"].update(key="password"),
    )
    with pytest.raises(DeployError) as err:
        run("staging", root, tmp_path)
    assert (
        "helm.secrets.DAGSTER_PG_PASSWORD: the chart reads key 'postgresql-password' of the "
        "secret, not 'password'"
    ) in str(err.value)


def test_malformed_secret_reference_is_an_error_in_every_mode(tmp_path):
    root = bundle_copy(
        tmp_path,
        "targets/dev.yaml",
        lambda d: d["helm"].update(secrets={"MLFLOW_TRACKING_TOKEN": {"secret": "s"}}),
    )
    with pytest.raises(DeployError, match=r"helm\.secrets\.MLFLOW_TRACKING_TOKEN must be \{secret"):
        run("dev", root, tmp_path)


def test_monitor_options_are_validated(tmp_path):
    root = bundle_copy(tmp_path, edit=lambda d: d.update(monitoring={"problem_type": "ranking"}))
    with pytest.raises(DeployError, match=r"target prod: monitoring: .*problem_type 'ranking'"):
        run("prod", bundle_dir=root, tmp_path=tmp_path)
