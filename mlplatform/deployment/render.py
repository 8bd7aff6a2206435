"""Render a resolved bundle into the files a deployment consists of.

`render` is pure: it returns `{file name: content}` plus the deploy manifest (a summary with the
Helm command) and writes nothing. Development mode prefixes every deployed name with
`dev-<user>-` and serves the code location through `mlplatform.deployment.dev_location`, which
pauses schedules and sensors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplatform.deployment.bundle import Bundle
from mlplatform.deployment.errors import DeployError
from mlplatform.deployment.inventory import Inventory
from mlplatform.deployment.names import DEFINITIONS_ENV, DEV_LOCATION_MODULE

SECRET_REF = "<secret-ref>"


@dataclass(frozen=True)
class Location:
    """One code location as deployed: its names and what `dagster api grpc` serves."""

    key: str  # the name in the bundle
    name: str  # the location name the workspace shows (prefixed in development mode)
    deployment: str  # the Kubernetes deployment and service name
    module: str
    attribute: str
    port: int
    wrapped: str | None = None  # development mode: the definitions dev_location serves


@dataclass
class Rendering:
    """The rendered files and the facts the command needs to apply them."""

    files: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    instance: dict[str, Any] = field(default_factory=dict)
    workspace: dict[str, Any] = field(default_factory=dict)


def name_prefix(bundle: Bundle) -> str:
    """`dev-<user>-` in development mode, else nothing."""
    return f"dev-{bundle.user}-" if bundle.mode == "development" else ""


def locations(bundle: Bundle) -> list[Location]:
    """The bundle's code locations with their deployed names."""
    prefix = name_prefix(bundle)
    result = []
    for key, spec in bundle.config["code_locations"].items():
        module, attribute = spec["module"], spec.get("attribute", "defs")
        dev = bundle.mode == "development"
        result.append(
            Location(
                key=key,
                name=prefix + key,
                deployment=(prefix + key).replace("_", "-").lower(),
                module=DEV_LOCATION_MODULE if dev else module,
                attribute="defs" if dev else attribute,
                port=int(spec["port"]),
                wrapped=f"{module}:{attribute}" if dev else None,
            )
        )
    return result


def container_env(bundle: Bundle) -> list[dict[str, Any]]:
    """The code-location container's environment: the contract first, then helm.env and secrets.

    DAGSTER_PG_PASSWORD is not listed: the chart injects it from `postgresqlSecretName`.
    """
    res = bundle.config["resources"]
    env: list[dict[str, Any]] = [
        {"name": "MLPLATFORM_ENV", "value": bundle.target},
        {"name": "MLPLATFORM_ENGINE", "value": str(res["engine"])},
        {"name": "MLPLATFORM_HOME", "value": str(res["storage_root"])},
    ]
    if res.get("tracking_uri"):
        env.append({"name": "MLFLOW_TRACKING_URI", "value": str(res["tracking_uri"])})
    for name, value in (bundle.config["helm"].get("env") or {}).items():
        env.append({"name": name, "value": "" if value is None else str(value)})
    for name, ref in (bundle.config["helm"].get("secrets") or {}).items():
        if name == "DAGSTER_PG_PASSWORD" and isinstance(ref, Mapping):  # the chart injects it
            continue
        if isinstance(ref, Mapping):
            env.append(
                {
                    "name": name,
                    "valueFrom": {"secretKeyRef": {"name": ref["secret"], "key": ref["key"]}},
                }
            )
        else:  # a literal secret: refused in production by the policy, tolerated elsewhere
            env.append({"name": name, "value": str(ref)})
    return env


def env_mapping(env: list[dict[str, Any]]) -> dict[str, str]:
    """`{name: value}` of a container env list, secret references as `<secret-ref>`."""
    return {e["name"]: e.get("value", SECRET_REF) for e in env}


def postgresql_secret(bundle: Bundle) -> str:
    """The secret the chart reads DAGSTER_PG_PASSWORD from (key postgresql-password)."""
    ref = (bundle.config["helm"].get("secrets") or {}).get("DAGSTER_PG_PASSWORD")
    if isinstance(ref, Mapping):
        return ref["secret"]
    return bundle.config["helm"]["postgresql_secret"]


def _yaml(data: Any, header: str) -> str:
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    return f"# {header}\n# Rendered by `mlplatform deploy`; edit deploy/ instead.\n{body}"


def _dockerfile(bundle: Bundle) -> str:
    path = bundle.bundle_dir / bundle.config["image"]["dockerfile"]
    if not path.is_file():
        raise DeployError(f"image.dockerfile: {path} does not exist")
    return path.read_text()


def monitor_file(bundle: Bundle) -> tuple[str, str]:
    """(monitor.yaml text, its path in the container), validated like a run would read it."""
    from mlplatform.monitoring.config import MonitoringConfigError
    from mlplatform.monitoring.loader import validate

    options = bundle.config.get("monitoring") or {}
    try:
        validate(options)
    except MonitoringConfigError as err:
        raise DeployError(f"target {bundle.target}: monitoring: {err}") from None
    path = f"{bundle.config['helm']['dagster_home']}/monitor.yaml"
    return _yaml(options, f"Monitor options of target {bundle.target}."), path


def render(bundle: Bundle, image_tag: str, inventory: Mapping[str, Inventory]) -> Rendering:
    """Render every file of the target. `inventory` maps location keys to what they load."""
    locs = locations(bundle)
    instance = bundle.config["instance"]
    workspace = workspace_config(locs)
    instance_text = _yaml(instance, f"Dagster instance of target {bundle.target}.")
    workspace_text = _yaml(workspace, f"Dagster workspace of target {bundle.target}.")
    monitor_text, monitor_path = monitor_file(bundle)
    values = helm_values(bundle, image_tag, locs, monitor_path)
    values["extraManifests"] = [
        instance_config_map(
            bundle,
            {
                "dagster.yaml": instance_text,
                "workspace.yaml": workspace_text,
                "monitor.yaml": monitor_text,
            },
        )
    ]
    helm = bundle.config["helm"]
    files = {
        "values.yaml": _yaml(
            values, f"Helm values of chart {helm['chart']} for target {bundle.target}."
        ),
        "dagster.yaml": instance_text,
        "workspace.yaml": workspace_text,
        "automation.yaml": _yaml(
            automation(locs, inventory),
            "Schedules and sensors per code location, with the status they start in.",
        ),
        "Dockerfile": _dockerfile(bundle),
        "monitor.yaml": monitor_text,
    }
    return Rendering(
        files=files,
        manifest=deploy_manifest(bundle, image_tag, locs),
        values=values,
        instance=instance,
        workspace=workspace,
    )


def workspace_config(locs: list[Location]) -> dict[str, Any]:
    """workspace.yaml: one gRPC server per code location."""
    return {
        "load_from": [
            {"grpc_server": {"host": loc.deployment, "port": loc.port, "location_name": loc.name}}
            for loc in locs
        ]
    }


def _labels(bundle: Bundle) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": bundle.config["bundle"]["name"],
        "mlplatform/target": bundle.target,
    }


def _instance_map(bundle: Bundle) -> str:
    return f"{name_prefix(bundle)}{bundle.config['helm']['release']}-instance"


def helm_values(
    bundle: Bundle, image_tag: str, locs: list[Location], monitor_path: str
) -> dict[str, Any]:
    """The Helm values of the code locations (without the extra manifests)."""
    helm = bundle.config["helm"]
    return {
        "dagsterHome": helm["dagster_home"],
        "postgresqlSecretName": postgresql_secret(bundle),
        "imagePullSecrets": [{"name": n} for n in helm.get("image_pull_secrets") or []],
        "deployments": [location_deployment(bundle, image_tag, loc, monitor_path) for loc in locs],
    }


def location_deployment(
    bundle: Bundle, image_tag: str, loc: Location, monitor_path: str
) -> dict[str, Any]:
    """One code location's deployment: its image, gRPC arguments, environment and volumes."""
    helm, image, res = bundle.config["helm"], bundle.config["image"], bundle.config["resources"]
    env = list(container_env(bundle))
    if loc.wrapped:
        env.append({"name": DEFINITIONS_ENV, "value": loc.wrapped})
    env.append({"name": "MLPLATFORM_MONITOR_CONFIG", "value": monitor_path})
    return {
        "name": loc.deployment,
        "image": {
            "repository": image["repository"],
            "tag": image_tag,
            "pullPolicy": image["pull_policy"],
        },
        "dagsterApiGrpcArgs": ["-m", loc.module, "-a", loc.attribute],
        "port": loc.port,
        "includeConfigInLaunchedRuns": {"enabled": True},
        "env": env,
        "labels": _labels(bundle),
        "resources": helm.get("resources") or {},
        "volumes": [
            {
                "name": "data",
                "persistentVolumeClaim": {"claimName": name_prefix(bundle) + helm["storage_claim"]},
            },
            {"name": "instance", "configMap": {"name": _instance_map(bundle)}},
        ],
        "volumeMounts": [
            {"name": "data", "mountPath": str(res["storage_root"])},
            {
                "name": "instance",
                "mountPath": f"{helm['dagster_home']}/dagster.yaml",
                "subPath": "dagster.yaml",
                "readOnly": True,
            },
            {
                "name": "instance",
                "mountPath": monitor_path,
                "subPath": "monitor.yaml",
                "readOnly": True,
            },
        ],
    }


def instance_config_map(bundle: Bundle, data: dict[str, str]) -> dict[str, Any]:
    """The ConfigMap mounted into every code location: instance, workspace, monitor options."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": _instance_map(bundle), "labels": _labels(bundle)},
        "data": data,
    }


def automation(locs: list[Location], inventory: Mapping[str, Inventory]) -> dict[str, Any]:
    """automation.yaml: each location's schedules and sensors with the status they start in."""
    return {
        loc.name: {
            "schedules": dict(inventory[loc.key].schedules),
            "sensors": dict(inventory[loc.key].sensors),
        }
        for loc in locs
    }


def deploy_manifest(bundle: Bundle, image_tag: str, locs: list[Location]) -> dict[str, Any]:
    """deploy.json: what was deployed where (release, chart, image, code locations)."""
    helm, image = bundle.config["helm"], bundle.config["image"]
    return {
        "bundle": bundle.config["bundle"]["name"],
        "target": bundle.target,
        "mode": bundle.mode,
        "image": f"{image['repository']}:{image_tag}",
        "release": name_prefix(bundle) + helm["release"],
        "namespace": helm["namespace"],
        "chart": {
            "repository": helm["repository"],
            "name": helm["chart"],
            "version": str(helm["version"]),
        },
        "timeout": str(helm["timeout"]),
        "code_locations": {
            loc.name: {
                "deployment": loc.deployment,
                "port": loc.port,
                "module": loc.module,
                "attribute": loc.attribute,
            }
            for loc in locs
        },
        "workflows": bundle.config.get("workflows") or {},
        "warnings": list(bundle.warnings),
    }


def write(rendering: Rendering, out: Path) -> list[Path]:
    """Write the rendered files and deploy.json (the manifest) into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    files = dict(rendering.files)
    files["deploy.json"] = json.dumps(rendering.manifest, indent=2, sort_keys=True) + "\n"
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        paths.append(path)
    return paths
