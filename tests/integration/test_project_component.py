"""The `dg` component of a project: a `dg` project whose `defs/shop/defs.yaml` is
`type: mlplatform.Bundle` lists, checks and launches the bundle's assets (polars engine); and the
code location module `mlplatform.project.location` on the project `MLPLATFORM_PROJECT` names."""

from __future__ import annotations

import json
import subprocess

import polars as pl
import pytest

from tests.integration._cli import BIN, ROOT, env_for
from tests.integration.test_project_bundle_cli import write_project

pytestmark = pytest.mark.integration


def test_a_bundle_in_a_dg_project(tmp_path):
    home, root = tmp_path / "home", tmp_path / "dg_project"
    shop = write_project(tmp_path / "shop", "shop", "shop")
    (root / "dg_shop" / "defs" / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "dg-shop"\nversion = "0.1.0"\n\n'
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\n'
        'root_module = "dg_shop"\n'
        'registry_modules = ["mlplatform"]\n'
    )
    (root / "dg_shop" / "__init__.py").write_text("")
    (root / "dg_shop" / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n"
        "defs = dg.load_from_defs_folder(project_root=Path(__file__).parent.parent)\n"
    )
    (root / "dg_shop" / "defs" / "shop" / "defs.yaml").write_text(
        f"type: mlplatform.Bundle\nattributes:\n  path: {shop}\n  target: dev\n"
    )
    env = env_for(
        home,
        MLPLATFORM_ENGINE="polars",
        PYTHONPATH=f"{ROOT}:{root}",
        VIRTUAL_ENV=str(BIN.parent),
    )
    env["PATH"] = f"{BIN}:{env['PATH']}"

    def dg(*args):
        proc = subprocess.run(
            [str(BIN / "dg"), *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        return proc

    checked = dg("check", "defs")
    assert "All definitions loaded successfully." in checked.stdout + checked.stderr
    listed = json.loads(dg("list", "defs", "--json").stdout)
    assert sorted(a["asset_key"] for a in listed["assets"]) == [
        "shop/event_log",
        "shop/order_value",
        "shop/orders_raw",
        "shop/totals",
    ]
    # the code location module loads the project MLPLATFORM_PROJECT names
    location = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "mlplatform.project.location"],
        cwd=tmp_path,
        env=env | {"MLPLATFORM_PROJECT": str(shop), "MLPLATFORM_TARGET": "dev"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert location.returncode == 0, location.stdout[-2000:] + location.stderr[-4000:]
    land = home / "landing" / "shop"
    land.mkdir(parents=True)
    (land / "1.json").write_text('{"id": "a", "amount": "7"}\n')
    dg("launch", "--assets", "shop/orders_raw,shop/totals")
    assert pl.read_delta(str(home / "lakehouse" / "shop" / "totals")).rows() == [(1, 7.0)]
