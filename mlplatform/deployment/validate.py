"""Offline validation of rendered files against the schemas of the tools that will read them.

dagster.yaml and the config of every pluggable class in it go through Dagster's own instance
config schema, workspace.yaml through Dagster's workspace schema, the Helm values through
deploy/helm/values.schema.json (the chart's keys we use, strictly), and the Dockerfile through a
few checks that keep it in step with the bundle. Each function returns a list of error sentences.
"""

from __future__ import annotations

import importlib
import json
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

INSTANCE_FILE = "dagster.yaml"


def _messages(errors) -> str:
    return "; ".join(e.message for e in errors)


def _import_class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)


def validate_instance(instance: Mapping[str, Any]) -> list[str]:
    """dagster.yaml against Dagster's instance schema and each pluggable class's config schema.

    Dagster 1.13 has no public API that checks an instance config without building the instance
    (which would connect to its PostgreSQL), so this uses its config module: the one private
    import the project allows (see tests/unit/test_no_private_apis.py).
    """
    import dagster as dg
    from dagster._core.instance.config import dagster_instance_config, validate_config

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, INSTANCE_FILE).write_text(yaml.safe_dump(dict(instance)))
        try:
            dagster_instance_config(tmp)
        except dg.DagsterInvalidConfigError as err:
            return [f"dagster.yaml: {_messages(err.errors) or str(err).splitlines()[0]}"]
    errors = []
    for section, value in instance.items():
        if not (isinstance(value, Mapping) and {"module", "class"} <= set(value)):
            continue
        try:
            cls = _import_class(value["module"], value["class"])
        except Exception as err:  # noqa: BLE001 - an import error of any kind is the finding
            errors.append(
                f"dagster.yaml: {section}: cannot import {value['module']}.{value['class']}: {err}"
            )
            continue
        result = validate_config(cls.config_type(), value.get("config") or {})
        if not result.success:
            errors.append(f"dagster.yaml: {section}: {_messages(result.errors)}")
    return errors


def validate_workspace(workspace: Mapping[str, Any]) -> list[str]:
    """workspace.yaml against Dagster's workspace schema (no public API offers it either)."""
    from dagster._core.workspace.config_schema import process_workspace_config

    result = process_workspace_config(dict(workspace))
    return [] if result.success else [f"workspace.yaml: {_messages(result.errors)}"]


def validate_helm_values(values: Mapping[str, Any], schema_path: Path) -> list[str]:
    """The Helm values against our schema of the chart keys we use."""
    import jsonschema

    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for err in sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "(root)"
        errors.append(f"values.yaml: {where}: {err.message}")
    return errors


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile, continuation lines joined."""
    result, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def validate_dockerfile(text: str, module: str, port: int) -> list[str]:
    """A pinned base image, the project installed, `dagster api grpc -m <module>` on `port`."""
    steps = _instructions(text)
    errors = []
    froms = [args.split()[-1] for word, args in steps if word == "FROM"]
    if not froms:
        return ["Dockerfile: no FROM instruction"]
    base = froms[0]
    name, _, tag = base.rpartition(":") if ":" in base.rsplit("/", 1)[-1] else (base, "", "")
    if not tag or tag == "latest":
        errors.append(f"Dockerfile: base image {base!r} must be pinned to a tag other than latest")
    if not any(word == "RUN" and "install" in args and " ." in args for word, args in steps):
        errors.append("Dockerfile: no RUN step installs the project (pip/uv install .)")
    exposed = [a for word, args in steps if word == "EXPOSE" for a in args.split()]
    if str(port) not in [e.split("/")[0] for e in exposed]:
        errors.append(f"Dockerfile: EXPOSE {port} missing (the code location's port)")
    cmds = [args for word, args in steps if word == "CMD"]
    if not cmds:
        return errors + ["Dockerfile: no CMD (expected dagster api grpc)"]
    try:
        cmd = json.loads(cmds[-1]) if cmds[-1].startswith("[") else shlex.split(cmds[-1])
    except ValueError:
        return errors + [f"Dockerfile: CMD {cmds[-1]!r} cannot be parsed"]
    if cmd[:3] != ["dagster", "api", "grpc"]:
        errors.append(f"Dockerfile: CMD must run `dagster api grpc`, not {' '.join(cmd)!r}")
    if _option(cmd, "-m", "--module-name") != module:
        errors.append(f"Dockerfile: CMD must serve -m {module}")
    if _option(cmd, "-p", "--port") != str(port):
        errors.append(f"Dockerfile: CMD must listen on -p {port}")
    return errors


def _option(cmd: list[str], *names: str) -> str | None:
    for i, word in enumerate(cmd[:-1]):
        if word in names:
            return cmd[i + 1]
    return None
