"""Custom variables: declared under `variables`, valued per target.

A variable's value is, first to last: `--var name=value`, the environment variable
`BUNDLE_VAR_<name>`, the target's `.databricks/bundle/<target>/variable-overrides.json`, the
selected target's `variables.<name>`, the declared `default`. `type: complex` variables hold a
mapping or a sequence and take their value only from files (the overrides file, a target, the
default). `lookup` variables (ids of workspace objects) are refused:
mlplatform has no workspace to look them up in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplatform.project.bundle.errors import BundleError, Diagnostic, Problems
from mlplatform.project.bundle.files import Places
from mlplatform.project.model import Position

ENV_PREFIX = "BUNDLE_VAR_"
DECLARATION_KEYS = ("default", "description", "type", "lookup")


def parse_var_options(options: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["a=1", "b=x=y"]` -> `{"a": "1", "b": "x=y"}`.

    Raises:
        BundleError: an option is not `<name>=<value>`.
    """
    values: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise BundleError(
                [Diagnostic(f'invalid --var "{option}": expected <variable-name>=<value>')]
            )
        values[name.strip()] = value
    return values


def resolve_variables(
    declared: Any,
    target_values: Any,
    target_name: str,
    cli_values: Mapping[str, str],
    env: Mapping[str, str],
    places: Places,
    problems: Problems,
    overrides: Mapping[str, Any] | None = None,
    overrides_file: Path | None = None,
) -> dict[str, Any]:
    """Each declared variable's value for the target (references in it still unresolved).

    `overrides` are the values of the target's `variable-overrides.json` (`overrides_file`)."""
    if declared is None:
        declared = {}
    overrides = overrides or {}
    for name in overrides:
        if name not in declared:
            problems.error(
                f"variable {name} is not defined but is assigned a value",
                Position(overrides_file, 1, name),
            )
    values: dict[str, Any] = {}
    for name in cli_values:
        if name not in declared:
            problems.error(f"variable {name} has not been defined (given with --var {name}=...)")
    if isinstance(target_values, dict):
        for name in target_values:
            if name not in declared:
                problems.error(
                    f"variable {name} is not defined but is assigned a value",
                    places.get(("targets", target_name, "variables", name)),
                )
    for name, spec in declared.items():
        at = places.get(("variables", name))
        if not isinstance(spec, dict):
            spec = {"default": spec}
        if "lookup" in spec:
            problems.error(
                f"variable {name} uses lookup, which mlplatform does not support: give it a "
                "default, a target value, --var or BUNDLE_VAR_" + name,
                places.get(("variables", name, "lookup"), at),
            )
            continue
        complex_ = spec.get("type") == "complex"
        if "type" in spec and not complex_:
            problems.error(
                f'variable {name} has type "{spec["type"]}": the only type is "complex"',
                places.get(("variables", name, "type"), at),
            )
        value, where = _pick(name, spec, target_values, target_name, cli_values, env, places)
        if name in overrides and (where is None or not where.key.startswith("--var")):
            value, where = overrides[name], Position(overrides_file, 1, name)
        if value is _MISSING:
            problems.error(
                f"no value assigned to required variable {name}: set a default, a value in "
                f'target "{target_name}", --var {name}=<value> or {ENV_PREFIX}{name}',
                at,
            )
            continue
        if isinstance(value, dict) and "lookup" in value:
            problems.error(
                f"variable {name} uses lookup, which mlplatform does not support",
                where or at,
            )
            continue
        if isinstance(value, (dict, list)) and not complex_:
            problems.error(
                f'variable {name} is given a complex value but is not declared "type: complex"',
                where or at,
            )
            continue
        if complex_ and where is not None and where.key.startswith("--var"):
            problems.error(
                f"complex variable {name} cannot be set with --var or {ENV_PREFIX}{name}"
            )
            continue
        values[name] = value
    return values


class _Missing:
    pass


_MISSING = _Missing()


def _pick(
    name, spec, target_values, target_name, cli_values, env, places
) -> tuple[Any, Position | None]:
    if name in cli_values:
        return cli_values[name], Position("--var", 0, f"--var {name}")
    if ENV_PREFIX + name in env:
        return env[ENV_PREFIX + name], Position("--var", 0, f"--var {ENV_PREFIX}{name}")
    if isinstance(target_values, dict) and name in target_values:
        value = target_values[name]
        place = places.get(("targets", target_name, "variables", name))
        if isinstance(value, dict) and "default" in value and spec.get("type") != "complex":
            value = value["default"]
        elif isinstance(value, dict) and set(value) == {"default"}:
            value = value["default"]
        return value, place
    if "default" in spec:
        return spec["default"], places.get(("variables", name, "default"))
    return _MISSING, None


def read_overrides(root: Path, target: str) -> tuple[dict[str, Any], Path]:
    """The target's `.databricks/bundle/<target>/variable-overrides.json` (empty when absent).

    Raises:
        BundleError: the file is not a JSON object.
    """
    shown = Path(".databricks", "bundle", target, "variable-overrides.json")
    path = root / shown
    if not path.is_file():
        return {}, shown
    try:
        values = json.loads(path.read_text())
    except ValueError as err:
        raise BundleError(
            [Diagnostic(f"{shown} is not valid JSON: {err}", Position(shown, 1, ""))]
        ) from None
    if not isinstance(values, dict):
        raise BundleError([Diagnostic(f"{shown} must hold a JSON object", Position(shown, 1, ""))])
    return values, shown
