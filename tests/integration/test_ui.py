"""The Dagster UI as a person sees it: the webserver on the repository's workspace.yaml.

Over GraphQL the code location must be loaded with every asset, check, job, schedule and sensor the
definitions hold (read from `mlplatform.definitions.defs` itself); the post-deploy smoke command
must pass against it; and headless Chromium must render the asset graph with the bronze, silver
and gold groups. The screenshot is kept under artifacts/ui/ (a CI artifact).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from mlplatform.deployment.inventory import load_inventory
from mlplatform.deployment.smoke import graphql
from tests.integration._services import (
    ROOT,
    VENV_BIN,
    chromium,
    free_port,
    require,
    start,
    stop,
    wait_http,
)

pytestmark = pytest.mark.integration

LOCATION = "mlplatform"
CONTRACT = {
    "bronze/raw_customer_events",
    "silver/cleaned_customer_events",
    "gold/customer_ml_features",
}
ARTIFACTS = ROOT / "artifacts" / "ui"
INVENTORY_QUERY = """
query UiInventory {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              schedules { name }
              sensors { name }
              assetNodes {
                assetKey { path }
                groupName
                isMaterializable
                assetChecksOrError { ... on AssetChecks { checks { name } } }
              }
            }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    dagster_home = tmp / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "MLPLATFORM_HOME": str(tmp / "home")}
    for key in ("MLPLATFORM_ENV", "MLPLATFORM_ENGINE", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    port = free_port()
    log = tmp / "webserver.log"
    proc = start(
        [
            str(VENV_BIN / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env,
        log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/server_info", proc, log)
        yield url, env, tmp
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def expected(webserver):
    _, env, tmp = webserver
    return load_inventory("mlplatform.definitions:defs", env, cwd=ROOT)


def test_code_location_holds_every_definition(webserver, expected):
    url, _, _ = webserver
    workspace = graphql(url, INVENTORY_QUERY, timeout=120)["workspaceOrError"]
    entries = {e["name"]: e for e in workspace["locationEntries"]}
    location = entries[LOCATION]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    [repo] = location["repositories"]
    nodes = [n for n in repo["assetNodes"] if n["isMaterializable"]]
    assets = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    checks = sorted(
        f"{'/'.join(n['assetKey']['path'])}:{c['name']}"
        for n in nodes
        for c in (n["assetChecksOrError"] or {}).get("checks", [])
    )
    assert assets == expected.assets
    assert CONTRACT <= set(assets)
    assert {"bronze", "silver", "gold"} <= set(assets.values())
    assert checks == expected.checks
    assert sorted(j["name"] for j in repo["jobs"] if not j["name"].startswith("__")) == (
        expected.jobs
    )
    assert sorted(s["name"] for s in repo["schedules"]) == sorted(expected.schedules)
    assert sorted(s["name"] for s in repo["sensors"]) == sorted(expected.sensors)


def test_smoke_command_passes_against_the_webserver(webserver):
    url, env, _ = webserver
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlplatform.deployment.smoke",
            "--url",
            url,
            "--location",
            LOCATION,
            "--select",
            "bronze/raw_customer_events",
            "--no-wait",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"code location {LOCATION} is loaded" in proc.stdout
    assert "launched run " in proc.stdout  # queued: the QueuedRunCoordinator has no daemon here


def browse(browser, tmp, *args, timeout=120):
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'chromium'}",
        "--window-size=1600,1000",
        "--virtual-time-budget=20000",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # renderer and GPU helpers included
        except ProcessLookupError:
            pass
        proc.wait()
    return proc.returncode, out, err


def test_asset_graph_in_a_browser(webserver):
    browser = chromium()
    require(browser is not None, "chromium is not installed")
    url, _, tmp = webserver
    graphql(url, "mutation { setNuxSeen }")  # what a person's click on "Skip" does
    page = f"{url}/asset-groups"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "asset_graph.png"
    shot.unlink(missing_ok=True)
    code, out, err = browse(browser, tmp, f"--screenshot={shot}", page)
    assert code == 0 and shot.is_file(), err[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    code, dom, err = browse(browser, tmp, "--dump-dom", page)
    assert code == 0, err[-3000:]
    (ARTIFACTS / "asset_graph.html").write_text(dom)
    assert "Global asset lineage" in dom
    for group in ("bronze", "silver", "gold"):
        assert f">{group}<" in dom, f"group {group} not on the asset graph page"
