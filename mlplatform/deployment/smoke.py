"""Smoke test a deployed environment through its Dagster webserver's GraphQL API.

`python -m mlplatform.deployment.smoke --url URL --target T` checks that the target's code location
is loaded; `--smoke-run` also materializes the target's `workflows.smoke_assets` (deploy/base.yaml)
and waits for the run to succeed; `--retrain --no-wait` launches `workflows.retrain_job` (the
trigger after a prod deploy). `--location`, `--select` and `--job` name things directly. deploy.yml
runs exactly these commands; they work as well against a local `dagster-webserver`.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from typing import Any
from urllib.parse import urlparse

import click

LOCATIONS_QUERY = """
query Locations {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
REPOSITORY = "__repository__"  # the repository a Definitions object becomes


class SmokeError(Exception):
    """The deployment did not pass a smoke check."""


def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 30
) -> dict[str, Any]:
    """POST a GraphQL query to `<url>/graphql` and return its `data`."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise SmokeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


def check_location(url: str, location: str) -> None:
    """Raise SmokeError unless `location` is loaded without error."""
    workspace = graphql(url, LOCATIONS_QUERY)["workspaceOrError"]
    if workspace["__typename"] != "Workspace":
        raise SmokeError(f"the workspace failed to load: {workspace.get('message')}")
    entries = {e["name"]: e for e in workspace["locationEntries"]}
    entry = entries.get(location)
    if entry is None:
        raise SmokeError(f"code location {location!r} not found (have: {', '.join(entries)})")
    loaded = entry["locationOrLoadError"] or {}
    if entry["loadStatus"] != "LOADED" or loaded.get("__typename") != "RepositoryLocation":
        raise SmokeError(
            f"code location {location!r} did not load: "
            f"{loaded.get('message') or entry['loadStatus']}"
        )


def _client(url: str):
    from dagster_graphql import DagsterGraphQLClient

    parsed = urlparse(url)
    return DagsterGraphQLClient(
        parsed.hostname or "localhost",
        port_number=parsed.port,
        use_https=parsed.scheme == "https",
        path_prefix=parsed.path.rstrip("/"),
    )


def launch(url: str, location: str, job: str | None, select: list[str]) -> str:
    """Launch `job`, or the asset job restricted to `select`; return the run id."""
    selection = [a.split("/") for a in select] or None
    return _client(url).submit_job_execution(
        job or "__ASSET_JOB",
        repository_location_name=location,
        repository_name=REPOSITORY,
        asset_selection=selection,
    )


def wait(url: str, run_id: str, timeout: float, poll: float = 5) -> str:
    """Wait for the run to end; return its final status."""
    client = _client(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in TERMINAL:
            return status
        time.sleep(poll)
    raise SmokeError(f"run {run_id} did not finish within {timeout:.0f} s")


def from_bundle(target: str) -> tuple[str, list[str], str | None]:
    """The target's code-location name, smoke assets and retraining job, from deploy/."""
    from mlplatform.deployment.bundle import load_bundle
    from mlplatform.deployment.render import locations

    bundle = load_bundle(target)
    flows = bundle.config.get("workflows") or {}
    return (
        locations(bundle)[0].name,
        list(flows.get("smoke_assets") or []),
        flows.get("retrain_job"),
    )


@click.command()
@click.option("--url", required=True, help="Base URL of the environment's Dagster webserver.")
@click.option("--target", default=None, help="Take names from deploy/ for this target.")
@click.option("--location", default=None, help="Code location name (default: the target's).")
@click.option("--select", multiple=True, help="Asset key layer/table to materialize (repeatable).")
@click.option("--smoke-run", is_flag=True, help="Materialize the target's workflows.smoke_assets.")
@click.option("--retrain", is_flag=True, help="Launch the target's workflows.retrain_job.")
@click.option("--job", default=None, help="Job to launch instead of an asset selection.")
@click.option("--wait/--no-wait", "wait_for_run", default=True, help="Wait for the run to succeed.")
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds to wait for the run.")
def main(
    url: str,
    target: str | None,
    location: str | None,
    select: tuple[str, ...],
    smoke_run: bool,
    retrain: bool,
    job: str | None,
    wait_for_run: bool,
    timeout: float,
) -> None:
    """Check that the code location is loaded and, when asked, that a run succeeds."""
    from dagster_graphql import DagsterGraphQLClientError

    from mlplatform.deployment.errors import DeployError

    try:
        assets = list(select)
        if target:
            name, smoke_assets, retrain_job = from_bundle(target)
            location = location or name
            assets += smoke_assets if smoke_run else []
            if retrain and not retrain_job:
                raise SmokeError(f"workflows.retrain_job is not set for target {target}")
            job = retrain_job if retrain else job
        if not location:
            raise SmokeError("pass --location or --target")
        check_location(url, location)
        click.echo(f"code location {location} is loaded")
        if assets or job:
            run_id = launch(url, location, job, assets)
            click.echo(f"launched run {run_id}")
            if wait_for_run:
                status = wait(url, run_id, timeout)
                if status != "SUCCESS":
                    raise SmokeError(f"run {run_id} ended {status}")
                click.echo(f"run {run_id} succeeded")
    except (SmokeError, DeployError, OSError, DagsterGraphQLClientError) as err:
        click.echo(f"smoke test failed: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
