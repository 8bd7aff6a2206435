"""`load_project`: a project folder's bundle -> a `Project` resolved for one target."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplatform.project.bundle.build import Builder
from mlplatform.project.bundle.checks import check
from mlplatform.project.bundle.context import current_user, git_info
from mlplatform.project.bundle.errors import BundleError, Diagnostic, Problems
from mlplatform.project.bundle.files import (
    KeyPath,
    Places,
    find_bundle_file,
    key_text,
    place,
    read_yaml,
)
from mlplatform.project.bundle.includes import include_files
from mlplatform.project.bundle.schema import SECTIONS, SUPPORTED_KINDS, TARGET, VARIABLE
from mlplatform.project.bundle.substitution import Resolver, has_reference, place_finder
from mlplatform.project.bundle.targets import (
    apply_presets,
    apply_target,
    check_production,
    effective_presets,
    select_target,
)
from mlplatform.project.bundle.variables import read_overrides, resolve_variables
from mlplatform.project.model import Project, Target


def load_project(
    path: str | Path,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    user_name: str | None = None,
) -> Project:
    """Read the bundle of the project folder `path` (or of the nearest folder above it) and
    resolve it for `target` (default: the target marked `default: true`).

    Args:
        path: the project folder (or any folder inside it).
        target: the target's name, as `-t` gives it.
        variables: `--var` values.
        env: where `BUNDLE_VAR_<name>` values are read (default: the process environment).
        user_name: the user `${workspace.current_user.userName}` names (default: the local one).

    Raises:
        BundleError: the bundle is broken; every error names file, line and key.
    """
    bundle_file = find_bundle_file(Path(path))
    root = bundle_file.parent
    problems = Problems()
    config, places = read_yaml(bundle_file, Path(bundle_file.name))
    if not isinstance(config, dict):
        raise BundleError([Diagnostic("the bundle file must hold a mapping", places.get(()))])
    include_files(root, bundle_file, config, places, problems)
    _check_sections(config, places, problems)
    problems.raise_if_any()  # a section of the wrong shape: nothing below can read it
    if not (config.get("bundle") or {}).get("name"):
        problems.error("bundle.name is required", place(places, ("bundle",)))
    name, target_body = select_target(config, target, places, problems)
    problems.raise_if_any()

    target_body = target_body if isinstance(target_body, dict) else {}
    apply_target(config, name, target_body, places, problems)
    overrides, overrides_file = read_overrides(root, name)
    values = resolve_variables(
        config.get("variables"),
        target_body.get("variables"),
        name,
        variables or {},
        os.environ if env is None else env,
        places,
        problems,
        overrides,
        overrides_file,
    )
    user = current_user(user_name)
    actual_git = git_info(root)
    configured_branch = ((config["bundle"].get("git") or {}) or {}).get("branch")
    config["bundle"]["git"] = {**actual_git, **(config["bundle"].get("git") or {})}
    workspace = config.setdefault("workspace", {})
    workspace["current_user"] = user
    workspace.setdefault("file_path", str(root))
    workspace.setdefault("root_path", str(root))
    problems.raise_if_any()

    config["var"] = values
    place_of = _var_places(places, name)
    Resolver(config, place_of, problems, lambda ref: ref[0] != "resources").resolve(())
    _check_resources(config, places, problems)
    problems.raise_if_any()

    apply_presets(config, effective_presets(config, user["short_name"]), places, problems)
    check_production(
        config, actual_git.get("branch") if configured_branch else None, places, problems
    )
    _resolve_resource_references(config, place_of, problems)
    problems.raise_if_any()

    built = Builder(root, places, problems).kinds(config.get("resources") or {})
    modules = _python_modules(config, places, problems)
    problems.raise_if_any()
    config.pop("var")
    config["variables"] = _variables_out(config.get("variables"), values)
    bundle = config["bundle"]
    positions = {
        key_text(key_path): place(places, key_path)
        for key_path in places
        if key_path and isinstance(key_path[0], str) and key_path[0] in config
    }
    return Project(
        name=str(bundle["name"]),
        root=root,
        target=Target(
            name=name,
            mode=bundle.get("mode"),
            default=bool(target_body.get("default", False)),
            presets=effective_presets(config, user["short_name"]),
        ),
        variables=values,
        pipelines=built["pipelines"],
        registered_models=built["registered_models"],
        experiments=built["experiments"],
        quality_monitors=built["quality_monitors"],
        jobs=built["jobs"],
        model_serving_endpoints=built["model_serving_endpoints"],
        python_modules=modules,
        warnings=tuple(problems.warnings),
        config=config,
        positions=positions,
    )


def _check_sections(config: dict, places: Places, problems: Problems) -> None:
    check(config, SECTIONS, (), places, problems)
    variables, targets = config.get("variables"), config.get("targets")
    for name, spec in (variables if isinstance(variables, dict) else {}).items():
        if isinstance(spec, dict):
            check(spec, VARIABLE, ("variables", name), places, problems)
    for name, body in (targets if isinstance(targets, dict) else {}).items():
        if body is not None:
            check(body, TARGET, ("targets", name), places, problems)


def _check_resources(config: dict, places: Places, problems: Problems) -> None:
    resources = config.get("resources") or {}
    for kind, items in resources.items():
        if items is None:
            continue
        if not isinstance(items, dict):
            check(items, {"*": "map"}, ("resources", kind), places, problems)
            continue
        spec = SUPPORTED_KINDS.get(kind) or "map"
        for key, body in items.items():
            items[key] = check(body, spec, ("resources", kind, key), places, problems)


def _var_places(places: Places, target: str):
    aliases = {"var": ("variables",)}
    nearest = place_finder(places, aliases)

    def place_of(path: KeyPath):
        if path and path[0] == "var" and len(path) > 1:
            for probe in (
                ("targets", target, "variables", path[1]),
                ("variables", path[1], "default"),
            ):
                if probe in places:
                    return places[probe]
        return nearest(path)

    return place_of


def _resource_id(kind: str, key: str, body: dict) -> str:
    """A resource's `${resources.<kind>.<key>.id}` here: a registered model's full name (as in
    Unity Catalog), an experiment's name, the resource key for the others."""
    if kind == "registered_models":
        parts = (body.get("catalog_name"), body.get("schema_name"), body.get("name") or key)
        return ".".join(str(p) for p in parts if p)
    if kind == "experiments":
        return str(body.get("name") or key)
    return key


def _resolve_resource_references(config: dict, place_of, problems: Problems) -> None:
    added = []
    for kind, items in (config.get("resources") or {}).items():
        for key, body in (items or {}).items():
            if isinstance(body, dict) and "id" not in body:
                resource_id = _resource_id(kind, key, body)
                if not has_reference(resource_id):  # else its fields' errors say it
                    body["id"] = resource_id
                    added.append(body)
    Resolver(config, place_of, problems).resolve(())
    for body in added:
        body.pop("id", None)


def _python_modules(config: dict, places: Places, problems: Problems) -> tuple[str, ...]:
    python = config.get("python") or {}
    if python.get("mutators"):
        problems.warn(
            "python.mutators are not applied by mlplatform", place(places, ("python", "mutators"))
        )
    entries = python.get("resources") or []
    modules = []
    for index, entry in enumerate(entries):
        module, sep, function = str(entry).partition(":")
        if not sep or not module or not function:
            problems.error(
                f'python.resources entry "{entry}" is not <module>:<function>',
                place(places, ("python", "resources", index)),
            )
        modules.append(str(entry))
    return tuple(modules)


def _variables_out(declared: Any, values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, spec in (declared or {}).items():
        entry = dict(spec) if isinstance(spec, dict) else {"default": spec}
        entry["value"] = values.get(name)
        out[name] = entry
    return out
