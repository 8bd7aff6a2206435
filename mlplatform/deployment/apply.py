"""Apply rendered manifests to a cluster with `helm upgrade --install --atomic`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplatform.deployment.errors import DeployError


def helm_command(manifest: Mapping[str, Any], values_file: Path) -> list[str]:
    """The Helm invocation that installs or upgrades the target's release, atomically."""
    chart = manifest["chart"]
    return [
        "helm",
        "upgrade",
        "--install",
        manifest["release"],
        chart["name"],
        "--repo",
        chart["repository"],
        "--version",
        chart["version"],
        "--namespace",
        manifest["namespace"],
        "--create-namespace",
        "--values",
        str(values_file),
        "--atomic",
        "--wait",
        "--timeout",
        manifest["timeout"],
    ]


def cluster_configured(environ: Mapping[str, str]) -> bool:
    """A kubeconfig (KUBECONFIG or ~/.kube/config) exists, or we run inside a cluster."""
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    paths = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = paths or [str(Path(environ.get("HOME") or Path.home()) / ".kube" / "config")]
    return any(Path(p).is_file() for p in paths)


def apply(command: list[str], out: Path, environ: Mapping[str, str]) -> None:
    """Run `command` (from `helm_command`).

    Raises:
        DeployError: when helm is not installed, no cluster is configured, or helm fails. The
            rendered files in `out` stay in place either way.
    """
    if shutil.which("helm", path=environ.get("PATH")) is None:
        raise DeployError(
            f"helm is not installed (not on PATH), so nothing was applied; the manifests are in "
            f"{out}. Install helm, or pass --dry-run to only render and validate."
        )
    if not cluster_configured(environ):
        raise DeployError(
            f"no Kubernetes cluster is configured (no KUBECONFIG, ~/.kube/config or in-cluster "
            f"service account), so nothing was applied; the manifests are in {out}."
        )
    proc = subprocess.run(command, env=dict(environ))
    if proc.returncode != 0:
        raise DeployError(f"helm failed (exit {proc.returncode}); --atomic rolled the release back")
