"""The deploy sequence: load the bundle, check it, load the definitions, render, validate, apply.

Cheap checks run first and report every problem at once; the Dagster definitions are loaded (in a
child process) only for a bundle that passed them. Nothing is written unless everything validates;
a failed apply leaves the written manifests in place.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplatform.deployment import policy, render, validate
from mlplatform.deployment.apply import apply, helm_command
from mlplatform.deployment.bundle import Bundle, load_bundle
from mlplatform.deployment.errors import DeployError
from mlplatform.deployment.inventory import Inventory, load_inventory
from mlplatform.deployment.names import DEFINITIONS_ENV

InventoryLoader = Callable[[str, Mapping[str, str]], Inventory]
REQUIRED = {
    "code_locations": (),
    "image": ("repository", "dockerfile", "pull_policy"),
    "resources": ("engine", "storage_root"),
    "instance": (),
    "helm": (
        "repository",
        "chart",
        "version",
        "release",
        "namespace",
        "timeout",
        "dagster_home",
        "postgresql_secret",
        "storage_claim",
    ),
}


@dataclass
class DeployResult:
    """What a deploy did: where it wrote, the manifest, warnings, and whether it applied."""

    out: Path
    paths: list[Path]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    applied: bool = False


def _structure(bundle: Bundle) -> list[str]:
    errors = []
    for section, keys in REQUIRED.items():
        value = bundle.config.get(section)
        if not isinstance(value, Mapping) or not value:
            errors.append(
                f"{section}: missing or empty in deploy/base.yaml and {bundle.target_file}"
            )
            continue
        errors += [f"{section}.{k}: missing" for k in keys if value.get(k) in (None, "")]
    return errors


def image_tag_for(explicit: str | None, bundle: Bundle, environ: Mapping[str, str]) -> str:
    """--image-tag, else GITHUB_SHA, else the checked-out commit; `dev` in development mode."""
    if explicit:
        return explicit
    if environ.get("GITHUB_SHA"):
        return environ["GITHUB_SHA"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=bundle.bundle_dir.parent,
            capture_output=True,
            text=True,
        )
    except OSError:  # no git on this machine
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    if bundle.mode == "development":
        return "dev"
    raise DeployError("no image tag: pass --image-tag <commit SHA of the image>")


def _check(bundle: Bundle, tag: str, environ: Mapping[str, str], dry_run: bool) -> None:
    errors = _structure(bundle)
    if errors:
        raise DeployError(f"target {bundle.target!r} is incomplete:\n  - " + "\n  - ".join(errors))
    checks = [
        policy.check_ports(bundle),
        policy.check_secrets(bundle),
        policy.check_branch(bundle, environ, dry_run),
        policy.check_image_tag(bundle, tag),
    ]
    for errs, warns in checks:
        errors += errs
        bundle.warnings.extend(warns)
    if not errors:  # the container's environment can be built only from well-formed secrets
        env = render.env_mapping(render.container_env(bundle))
        errors += policy.check_contract(bundle, env)[0]
    if errors:
        raise DeployError(
            f"target {bundle.target!r} cannot be deployed:\n  - " + "\n  - ".join(errors)
        )


def default_loader(spec: str, env: Mapping[str, str]) -> Inventory:
    """Load a code location in a child process (see `inventory.load_inventory`)."""
    return load_inventory(spec, env)


def _inventories(bundle: Bundle, load: InventoryLoader) -> dict[str, Inventory]:
    engine = str(bundle.config["resources"]["engine"])
    result = {}
    with tempfile.TemporaryDirectory(prefix="mlplatform-deploy-") as home:
        for loc in render.locations(bundle):
            env = {
                "MLPLATFORM_ENV": bundle.target,
                "MLPLATFORM_ENGINE": engine,
                "MLPLATFORM_HOME": home,
            }
            if loc.wrapped:
                env[DEFINITIONS_ENV] = loc.wrapped
            result[loc.key] = load(f"{loc.module}:{loc.attribute}", env)
    return result


def _workflow_names(bundle: Bundle, inventories: Mapping[str, Inventory]) -> list[str]:
    flows = bundle.config.get("workflows") or {}
    assets = {a for inv in inventories.values() for a in inv.assets}
    jobs = {j for inv in inventories.values() for j in inv.jobs}
    errors = [
        f"workflows.smoke_assets: asset {a!r} is not in the code location"
        for a in flows.get("smoke_assets") or []
        if a not in assets
    ]
    job = flows.get("retrain_job")
    if job and job not in jobs:
        errors.append(
            f"workflows.retrain_job: job {job!r} is not in the code location "
            f"(jobs: {', '.join(sorted(jobs)) or 'none'})"
        )
    return errors


def deploy(
    target: str,
    *,
    image_tag: str | None = None,
    out: Path | None = None,
    dry_run: bool = False,
    bundle_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    load: InventoryLoader | None = None,
) -> DeployResult:
    """Render, validate and (unless `dry_run`) apply `target`.

    Raises:
        DeployError: with every problem found, or when applying is impossible or fails.
    """
    environ = dict(os.environ if environ is None else environ)
    bundle = load_bundle(target, bundle_dir, environ)
    tag = image_tag_for(image_tag, bundle, environ)
    _check(bundle, tag, environ, dry_run)
    inventories = _inventories(bundle, load or default_loader)
    rendering = render.render(bundle, tag, inventories)
    loc = render.locations(bundle)[0]
    schema = bundle.bundle_dir / "helm" / "values.schema.json"
    errors = (
        validate.validate_instance(rendering.instance)
        + validate.validate_workspace(rendering.workspace)
        + validate.validate_helm_values(rendering.values, schema)
        + validate.validate_dockerfile(
            rendering.files["Dockerfile"],
            bundle.config["code_locations"][loc.key]["module"],
            loc.port,
        )
        + _workflow_names(bundle, inventories)
    )
    if errors:
        raise DeployError(
            f"the rendered manifests of target {target!r} are invalid:\n  - "
            + "\n  - ".join(errors)
        )
    out = Path(out or Path("build") / "deploy" / target).resolve()
    command = helm_command(rendering.manifest, out / "values.yaml")
    rendering.manifest["helm_command"] = command
    rendering.manifest["inventory"] = {
        name: {
            "assets": len(inv.assets),
            "checks": len(inv.checks),
            "jobs": len(inv.jobs),
            "schedules": len(inv.schedules),
            "sensors": len(inv.sensors),
        }
        for name, inv in inventories.items()
    }
    paths = render.write(rendering, out)
    result = DeployResult(out, paths, rendering.manifest, list(bundle.warnings))
    if not dry_run:
        apply(command, out, environ)
        result.applied = True
    return result
