"""Run the real `mlplatform` and `dagster` commands against a temporary data home."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env_for(home: Path, **extra: str) -> dict[str, str]:
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = dict(os.environ)
    for key in (
        "MLPLATFORM_FAILPOINT",
        "MLPLATFORM_ENGINE",
        "MLPLATFORM_ENV",
        "MLFLOW_TRACKING_URI",
        "MLPLATFORM_LAKEHOUSE",
        "MLPLATFORM_STORAGE_OPTIONS",
    ):
        env.pop(key, None)
    env.update(MLPLATFORM_HOME=str(home), DAGSTER_HOME=str(dagster_home), **extra)
    return env


def run(args: list[str], home: Path, check: bool = True, **extra: str):
    proc = subprocess.run(
        args, cwd=ROOT, env=env_for(home, **extra), capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-5000:]}"
        )
    return proc


def mlplatform(home: Path, *args: str, check: bool = True, **extra: str):
    return run([str(BIN / "mlplatform"), *args], home, check=check, **extra)


def materialize_args(select: str = "*") -> list[str]:
    return [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "mlplatform.definitions",
        "--select",
        select,
    ]


def materialize(
    home: Path, select: str = "*", config: str | None = None, check: bool = True, **extra: str
):
    args = materialize_args(select)
    if config:
        args += ["--config-json", config]
    return run(args, home, check=check, **extra)
