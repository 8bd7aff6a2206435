"""The rules a target must satisfy before anything is rendered: ports, secrets, branch, contract.

Each check returns `(errors, warnings)` as lists of sentences; the command joins the errors of all
checks into one message so a person fixes everything in one pass.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlplatform.deployment.bundle import Bundle
from mlplatform.settings import ENGINES, ENVIRONMENTS

Findings = tuple[list[str], list[str]]

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY)", re.I)
DERIVED_ENV = ("MLPLATFORM_ENV", "MLPLATFORM_ENGINE", "MLPLATFORM_HOME", "MLFLOW_TRACKING_URI")
CHART_ENV = ("DAGSTER_HOME", "DAGSTER_CURRENT_IMAGE")
CHART_PG_KEY = "postgresql-password"  # the chart injects DAGSTER_PG_PASSWORD from this key
URI_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "databricks", "file")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def as_port(value: Any) -> int | None:
    """`value` as a TCP port number, or None when it is not one (1 to 65535)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= 65535 else None


def check_ports(bundle: Bundle) -> Findings:
    """Every code-location port and every `*_PORT` variable of the container is a valid port."""
    errors = []
    for name, location in (bundle.config.get("code_locations") or {}).items():
        port = (location or {}).get("port")
        if as_port(port) is None:
            errors.append(f"code_locations.{name}.port: {port!r} is not a valid TCP port (1-65535)")
    for key, value in (bundle.config.get("helm", {}).get("env") or {}).items():
        if key.endswith("_PORT") and as_port(value) is None:
            errors.append(f"helm.env.{key}: {value!r} is not a valid TCP port (1-65535)")
    return errors, []


def _literal_secrets(node: Any, path: str) -> Iterator[str]:
    """Paths of string values under secret-like keys of Dagster config (not `{env: NAME}`)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}"
            if SECRET_NAME.search(str(key)) and isinstance(value, str | int) and value != "":
                yield here
            else:
                yield from _literal_secrets(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _literal_secrets(value, f"{path}[{i}]")
    elif isinstance(node, str) and URL_CREDENTIALS.search(node):
        yield f"{path} (a URL with a password)"


def check_secrets(bundle: Bundle) -> Findings:
    """Secrets come from secret references; a literal is refused in production, warned elsewhere."""
    helm = bundle.config.get("helm", {})
    found, key_errors = [], []
    for name, ref in (helm.get("secrets") or {}).items():
        if not isinstance(ref, Mapping):
            found.append(f"helm.secrets.{name} is a literal value")
        elif set(ref) != {"secret", "key"} or not all(isinstance(v, str) for v in ref.values()):
            key_errors.append(f"helm.secrets.{name} must be {{secret: <name>, key: <key>}}")
    for name, value in (helm.get("env") or {}).items():
        if SECRET_NAME.search(name) and value not in (None, ""):
            found.append(f"helm.env.{name} looks like a secret but is a literal value")
    for section in ("instance", "resources"):
        found += [
            f"{p} is a literal secret"
            for p in _literal_secrets(bundle.config.get(section), section)
        ]
    found += [
        f"{p} is a literal secret"
        for p in _literal_secrets(helm.get("env"), "helm.env")
        if "URL with a password" in p
    ]
    pg = (helm.get("secrets") or {}).get("DAGSTER_PG_PASSWORD")
    if isinstance(pg, Mapping) and "key" in pg and pg["key"] != CHART_PG_KEY:
        key_errors.append(
            f"helm.secrets.DAGSTER_PG_PASSWORD: the chart reads key {CHART_PG_KEY!r} of the "
            f"secret, not {pg.get('key')!r}"
        )
    if not found:
        return key_errors, []
    if bundle.mode == "production":
        return key_errors + [
            f"{bundle.target_file}: target {bundle.target!r} (mode production) requires every "
            f"secret to come from a secret reference, never a literal: {item}; use "
            "helm.secrets.NAME: {secret: <Kubernetes secret>, key: <key>}"
            for item in found
        ], []
    return key_errors, [f"{item} (allowed outside production)" for item in found]


def current_branch(environ: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """GITHUB_REF_NAME on Actions (a detached HEAD), else the checked-out git branch."""
    if environ.get("GITHUB_REF_NAME"):
        return environ["GITHUB_REF_NAME"]
    for cmd in (
        ["git", "rev-parse", "--abbrev-ref", "HEAD"],
        ["git", "symbolic-ref", "--short", "HEAD"],
    ):
        try:
            out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10)
        except OSError:
            return None
        if out.returncode == 0 and out.stdout.strip() not in ("", "HEAD"):
            return out.stdout.strip()
    return None


def check_branch(bundle: Bundle, environ: Mapping[str, str], dry_run: bool) -> Findings:
    """Production deploys only from `git.branch`; a dry run reports the violation as a warning."""
    if bundle.mode != "production":
        return [], []
    wanted = (bundle.config.get("git") or {}).get("branch", "main")
    branch = current_branch(environ, cwd=bundle.bundle_dir.parent)
    if branch == wanted:
        return [], []
    message = (
        f"target {bundle.target!r} (mode production) deploys only from branch {wanted!r}, "
        f"not from {branch or 'an unknown branch'!r} (GITHUB_REF_NAME, else git)"
    )
    return ([], [f"{message}; a real deploy would refuse"]) if dry_run else ([message], [])


def check_image_tag(bundle: Bundle, tag: str) -> Findings:
    """A tag Docker accepts; production refuses the moving tag `latest`."""
    if not IMAGE_TAG.match(tag):
        return [f"image tag {tag!r} is not a valid Docker tag"], []
    if bundle.mode == "production" and tag == "latest":
        return [
            f"target {bundle.target!r} (mode production) needs an immutable image tag "
            "(the commit SHA), not 'latest'"
        ], []
    return [], []


def _env_refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        if set(node) == {"env"} and isinstance(node["env"], str):
            yield node["env"]
        for value in node.values():
            yield from _env_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_refs(value)


def check_contract(bundle: Bundle, container_env: Mapping[str, str]) -> Findings:
    """The container's environment fulfils the platform's contract and the instance's needs.

    `container_env` maps every variable the container gets to its value (secret references as
    `<secret-ref>`), not counting those the chart injects (DAGSTER_HOME, DAGSTER_PG_PASSWORD).
    """
    errors = []
    resources = bundle.config.get("resources") or {}
    user_env = bundle.config.get("helm", {}).get("env") or {}
    for name in DERIVED_ENV + CHART_ENV:
        if name in user_env or name in (bundle.config["helm"].get("secrets") or {}):
            errors.append(
                f"helm: {name} is set by the renderer (from resources: or the chart); "
                "do not set it under helm.env or helm.secrets"
            )
    if bundle.target not in ENVIRONMENTS:
        errors.append(
            f"target {bundle.target!r} is not an MLPLATFORM_ENV ({', '.join(ENVIRONMENTS)})"
        )
    if resources.get("engine") not in ENGINES:
        errors.append(
            f"resources.engine: {resources.get('engine')!r} is not one of {', '.join(ENGINES)}"
        )
    root = str(resources.get("storage_root") or "")
    if not os.path.isabs(root):
        errors.append(f"resources.storage_root: {root!r} must be an absolute path in the container")
    uri = str(resources.get("tracking_uri") or "")
    if uri and uri.split(":", 1)[0] not in URI_SCHEMES:
        errors.append(
            f"resources.tracking_uri: {uri!r} has no known scheme ({', '.join(URI_SCHEMES)})"
        )
    provided = set(container_env) | {"DAGSTER_HOME", "DAGSTER_PG_PASSWORD"}
    for name in sorted(set(_env_refs(bundle.config.get("instance"))) - provided):
        errors.append(
            f"variable {name} is missing: the instance config reads it ({{env: {name}}}) "
            "but the container gets it from neither helm.env nor helm.secrets"
        )
    return errors, []
