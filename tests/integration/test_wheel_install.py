"""The built package stands alone: `uv build` makes a wheel that, installed into a fresh virtual
environment outside the checkout, runs `mlplatform quickstart` (its instance template and
default deploy bundle come from inside the package)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.integration._cli import ROOT

DEMO_PROJECT = ROOT / "examples" / "customer_churn"

pytestmark = pytest.mark.integration


def _uv() -> list[str]:
    """The uv command: on PATH, else the module of the Python `.ci/run` installed it into."""
    if shutil.which("uv"):
        return [shutil.which("uv")]
    for python in ("python3.11", "python3"):
        exe = shutil.which(python)
        if (
            exe
            and subprocess.run([exe, "-m", "uv", "--version"], capture_output=True).returncode == 0
        ):
            return [exe, "-m", "uv"]
    pytest.fail("uv is needed to build and install the wheel: python3.11 -m pip install uv")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv (outside the checkout) with the wheel `uv build` made installed."""
    uv = _uv()
    root = tmp_path_factory.mktemp("wheel")
    run = dict(capture_output=True, text=True, timeout=900, cwd=root)
    built = subprocess.run([*uv, "build", "-q", "--out-dir", str(root / "dist"), str(ROOT)], **run)
    assert built.returncode == 0, built.stderr
    wheels = sorted((root / "dist").glob("mlplatform-*.whl"))
    assert len(wheels) == 1, wheels
    venv = root / "venv"
    for args in (
        [*uv, "venv", "-q", "-p", "python3.11", str(venv)],
        [*uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), str(wheels[0])],
    ):
        proc = subprocess.run(args, **run)
        assert proc.returncode == 0, proc.stderr
    return venv


def _env(**extra: str) -> dict[str, str]:
    drop = ("MLPLATFORM_", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, **extra}


def test_the_installed_wheel_runs_the_quickstart_outside_the_checkout(installed, tmp_path):
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import mlplatform; print(mlplatform.__file__)"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(installed)), where.stdout + where.stderr
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run(
        [str(installed / "bin" / "mlplatform"), "quickstart", "--customers", "300"]
        + ["--events", "6000"],
        cwd=cwd,
        # the wheel holds the platform only: the project (the demo) comes from its folder
        env=_env(MLPLATFORM_HOME=str(home), MLPLATFORM_PROJECT=str(DEMO_PROJECT)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "promotion: the evaluation said promote" in proc.stdout, proc.stdout
    assert (home / "lakehouse" / "gold" / "customer_ml_features" / "_delta_log").is_dir()
    assert (home / "dagster" / "dagster.yaml").read_bytes() == (ROOT / "dagster.yaml").read_bytes()
    assert sorted(p.name for p in cwd.iterdir()) == []  # nothing written where it ran
