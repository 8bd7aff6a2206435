"""Offline validation of rendered files against the schemas of the tools that will read them.

dagster.yaml and the config of every pluggable class in it go through Dagster's own instance
config schema, workspace.yaml through Dagster's workspace schema, the Helm values through
deploy/helm/values.schema.json (the chart's keys we use, strictly), and the Dockerfile through a
few checks that keep it in step with the bundle. Each function returns a list of error sentences.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

INSTANCE_FILE = "dagster.yaml"
WORKSPACE_FILE = "workspace.yaml"


def _import_class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)


SENTINEL = "mlplatform_validation_sentinel"
"""An entry no schema has: Dagster reports it beside every real error and builds nothing."""
CLASS_SECTIONS = {
    "run_coordinator": "run_coordinator",
    "run_launcher": "run_launcher",
    "compute_logs": "compute_log_manager",
    "scheduler": "scheduler",
}
"""Pluggable sections whose class config Dagster checks when the instance builds them (lazily).
The storage sections are left to the schema and the import check: building a storage connects to
its database."""


def _instance_errors(instance: Mapping[str, Any], attribute: str | None = None) -> list[str]:
    """Dagster's own errors for `instance` as a dagster.yaml, through the public
    `DagsterInstance.from_config` in a temporary home (nothing is built when the schema fails)."""
    import dagster as dg

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, INSTANCE_FILE).write_text(yaml.safe_dump(dict(instance)))
        try:
            with dg.DagsterInstance.from_config(tmp) as built:
                if attribute is not None:
                    getattr(built, attribute)
        except dg.DagsterInvalidConfigError as err:
            if not err.errors:
                return [str(err).splitlines()[0]]
            return [e.message for e in err.errors if SENTINEL not in e.message]
    return []


def validate_instance(instance: Mapping[str, Any]) -> list[str]:
    """dagster.yaml against Dagster's instance schema and each pluggable class's config schema.

    The schema is checked by loading the file with `DagsterInstance.from_config` with one extra
    entry that no schema has, so Dagster reports every error and never builds the instance (which
    would connect to its PostgreSQL). Each pluggable class is imported, and the run coordinator,
    run launcher, compute log manager and scheduler are built alone in a temporary home, which
    checks their config.
    """
    errors = _instance_errors({**instance, SENTINEL: True})
    if errors:
        return [f"dagster.yaml: {'; '.join(errors)}"]
    for section, value in instance.items():
        if not (isinstance(value, Mapping) and {"module", "class"} <= set(value)):
            continue
        try:
            _import_class(value["module"], value["class"])
        except Exception as err:  # noqa: BLE001 - an import error of any kind is the finding
            errors.append(
                f"dagster.yaml: {section}: cannot import {value['module']}.{value['class']}: {err}"
            )
            continue
        if section in CLASS_SECTIONS:
            found = _instance_errors({section: dict(value)}, CLASS_SECTIONS[section])
            errors += [f"dagster.yaml: {section}: {'; '.join(found)}"] if found else []
    return errors


def validate_workspace(workspace: Mapping[str, Any]) -> list[str]:
    """workspace.yaml against Dagster's workspace schema, by Dagster's own CLI.

    `dagster definitions validate -w` checks the file against the schema before it loads any code
    location; with one extra entry that no schema has it reports every error and stops there, so
    it never tries to reach the gRPC servers the file names.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, WORKSPACE_FILE)
        path.write_text(yaml.safe_dump({**workspace, SENTINEL: True}))
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", path],
            cwd=tmp,
            env=dict(os.environ, DAGSTER_HOME=tmp),
            capture_output=True,
            text=True,
            timeout=300,
        )
    reported = re.findall(r"^\s*Error \d+: (.*)$", proc.stdout + proc.stderr, re.M)
    if not any(SENTINEL in message for message in reported):
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return [
            f"{WORKSPACE_FILE}: could not be checked by dagster definitions validate: {last[0]}"
        ]
    found = [message for message in reported if SENTINEL not in message]
    return [f"{WORKSPACE_FILE}: {'; '.join(found)}"] if found else []


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
