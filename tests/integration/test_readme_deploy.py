"""The README's deploy dry-run commands, run as written (with the variables the README sets) from a
clean shell (no activated environment) in a folder of their own with the project's `.venv`."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.integration._cli import ROOT

pytestmark = pytest.mark.integration


def _deploy_block() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    return next(b for b in blocks if "mlplatform deploy" in b)


def test_the_readme_dry_runs_run_as_written(tmp_path):
    block = _deploy_block()
    lines = [
        line
        for line in block.splitlines()
        if line.startswith("export ") or ("mlplatform deploy" in line and "--dry-run" in line)
    ]
    dry_runs = [line for line in lines if "--dry-run" in line]
    assert [line.split("#")[0].split() for line in dry_runs] == [
        [".venv/bin/mlplatform", "deploy", "--target", "staging", "--dry-run"],
        [".venv/bin/mlplatform", "deploy", "--target", "prod", "--dry-run"],
    ]
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {"HOME": os.environ["HOME"], "PATH": "/usr/bin:/bin"}
    env.update(MLPLATFORM_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("dry run: nothing applied; to apply: helm upgrade --install") == 2
    for target in ("staging", "prod"):
        assert re.search(
            rf"image registry\.example\.com/mlplatform:\w+, release mlplatform in namespace "
            rf"mlplatform-{target}",
            proc.stdout,
        ), proc.stdout
        assert (tmp_path / "build" / "deploy" / target / "values.yaml").is_file(), target
        assert (tmp_path / "build" / "deploy" / target / "dagster.yaml").is_file(), target
