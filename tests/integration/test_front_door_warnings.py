"""`dagster asset materialize` says loudly when it runs on a temporary instance or an empty home."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.integration._cli import BIN, env_for

pytestmark = pytest.mark.integration

SELECT = ["asset", "materialize", "-m", "mlplatform.definitions", "--select"]


def _materialize(cwd, env, select="bronze/raw_customer_labels"):
    return subprocess.run(
        [str(BIN / "dagster"), *SELECT, select],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_from_another_folder_without_homes_both_warnings_name_the_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "DAGSTER_"))}
    proc = _materialize(elsewhere, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "mlplatform: warning:" in line]
    assert len(warnings) == 2, proc.stderr[-3000:]
    home = elsewhere / ".mlplatform"
    assert warnings[0].startswith(
        "mlplatform: warning: DAGSTER_HOME is not set, so this run uses a temporary Dagster "
        "instance"
    )
    assert f"Set DAGSTER_HOME={home / 'dagster'}" in warnings[0]
    assert (
        "MLPLATFORM_HOME is not set, so the data home is ./.mlplatform of this folder, "
        f"{home}, which is new and empty" in warnings[1]
    )


def test_a_set_up_home_and_instance_load_without_a_warning(tmp_path):
    home = tmp_path / "home"
    landing = home / "landing" / "customer_labels"
    landing.mkdir(parents=True)
    (landing / "l.json").write_text(
        '{"customer_id": "1", "churned": 0, "label_timestamp": "2026-10-01T00:00:00"}\n'
    )
    proc = _materialize(tmp_path, env_for(home))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mlplatform: warning" not in proc.stderr
    # the run went to the instance under DAGSTER_HOME, which the UI reads
    assert any((home / "dagster").rglob("*.db"))


def test_a_named_but_empty_home_is_named(tmp_path):
    home = tmp_path / "typo"
    proc = _materialize(tmp_path, env_for(home))
    assert proc.returncode == 0, proc.stderr[-3000:]
    [warning] = [line for line in proc.stderr.splitlines() if "mlplatform: warning:" in line]
    assert warning.startswith(f"mlplatform: warning: MLPLATFORM_HOME={home} is new and empty")
