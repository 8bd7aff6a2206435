"""What `mlplatform bundle validate` and `bundle summary` print."""

from __future__ import annotations

import json
from typing import Any

from mlplatform.project.model import Project

KIND_TITLES = {
    "pipelines": "Pipelines",
    "jobs": "Jobs",
    "registered_models": "Registered models",
    "experiments": "Experiments",
    "model_serving_endpoints": "Model serving endpoints",
    "quality_monitors": "Quality monitors",
}


def header(project: Project) -> str:
    """`Name`, `Target`, `Workspace` lines, as the Databricks CLI prints them."""
    workspace = project.config.get("workspace", {})
    user = workspace.get("current_user", {}).get("userName", "")
    return (
        f"Name: {project.name}\n"
        f"Target: {project.target.name}\n"
        "Workspace:\n"
        f"  User: {user}\n"
        f"  Path: {workspace.get('root_path', '')}"
    )


def counted(errors: int, warnings: int) -> str:
    """`Found 2 errors and 1 warning`, or `Validation OK!`."""
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"Found {' and '.join(parts)}" if parts else "Validation OK!"


def summary_text(project: Project) -> str:
    """The header, then each resource with its name."""
    lines = [header(project), "Resources:"]
    resources = project.config.get("resources") or {}
    for kind, items in resources.items():
        if not isinstance(items, dict) or not items:
            continue
        lines.append(f"  {KIND_TITLES.get(kind, kind)}:")
        for key, body in items.items():
            lines.append(f"    {key}:")
            name = _shown_name(kind, body)
            if name:
                lines.append(f"      Name: {name}")
    return "\n".join(lines)


def _shown_name(kind: str, body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    if kind == "registered_models":
        parts = (body.get("catalog_name"), body.get("schema_name"), body.get("name"))
        return ".".join(str(p) for p in parts if p)
    if kind == "quality_monitors":
        return str(body.get("table_name", ""))
    return str(body.get("name", ""))


def as_json(project: Project) -> str:
    """The resolved configuration: `{"bundle": ..., "workspace": ..., "resources": ...}`."""
    return json.dumps(project.config, indent=2, default=str)
