"""What an installed mlplatform reads from inside its package: the Dagster instance template and
the default deploy bundle. They are copies of the repository's dagster.yaml and deploy/ (what
`dagster dev` from the checkout, the image build and the README use); this keeps them equal."""

from importlib.resources import files
from pathlib import Path

import pytest

from mlplatform.deployment.bundle import DEFAULT_BUNDLE_DIR, default_bundle_dir, load_bundle
from mlplatform.deployment.errors import DeployError
from mlplatform.instance import INSTANCE_TEMPLATE, ensure_dagster_home
from mlplatform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(str(files("mlplatform") / "templates"))
FIX = "copy the repository's file over the package's (or the other way) so both say the same"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_packaged_instance_template_is_the_repositorys_dagster_yaml():
    assert INSTANCE_TEMPLATE.read_bytes() == (ROOT / "dagster.yaml").read_bytes(), FIX


def test_the_packaged_bundle_is_the_repositorys_deploy_folder():
    packaged, repository = _files(TEMPLATES / "deploy"), _files(ROOT / "deploy")
    assert sorted(packaged) == sorted(repository)
    assert sorted(packaged) == [
        "Dockerfile",
        "Dockerfile.dockerignore",
        "base.yaml",
        "helm/values.schema.json",
        "targets/dev.yaml",
        "targets/prod.yaml",
        "targets/staging.yaml",
    ]
    for name, text in packaged.items():
        assert text == repository[name], f"mlplatform/templates/deploy/{name}: {FIX}"


def test_the_package_declares_every_template_as_package_data():
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["mlplatform"]
    package = TEMPLATES.parent
    declared = {str(p.relative_to(package)) for g in globs for p in package.glob(g) if p.is_file()}
    shipped = {f"templates/{name}" for name in _files(TEMPLATES)}
    assert declared == shipped


def test_the_default_bundle_is_the_current_folders_else_the_packaged_one(tmp_path):
    assert default_bundle_dir(tmp_path) == DEFAULT_BUNDLE_DIR
    assert DEFAULT_BUNDLE_DIR == TEMPLATES / "deploy"
    (tmp_path / "deploy" / "targets").mkdir(parents=True)
    (tmp_path / "deploy" / "base.yaml").write_text("bundle: {name: mine}\n")
    (tmp_path / "deploy" / "targets" / "qa.yaml").write_text("mode: development\n")
    assert default_bundle_dir(tmp_path) == tmp_path / "deploy"
    assert load_bundle("dev", DEFAULT_BUNDLE_DIR, {}).target_file == "deploy/targets/dev.yaml"
    with pytest.raises(DeployError, match="unknown target 'staging': deploy/targets defines qa"):
        load_bundle("staging", default_bundle_dir(tmp_path), {})


def test_a_new_home_gets_the_packaged_instance_template(tmp_path):
    settings = Settings(home=tmp_path, env="dev", engine="polars")
    home = ensure_dagster_home(settings)
    assert (home / "dagster.yaml").read_bytes() == INSTANCE_TEMPLATE.read_bytes()
