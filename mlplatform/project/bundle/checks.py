"""Check a configuration value against a spec of `schema`: an unknown key is a warning (its
value is kept), a value of the wrong type an error; both name file, line and key."""

from __future__ import annotations

import json
from typing import Any

from mlplatform.project.bundle.errors import Problems
from mlplatform.project.bundle.files import KeyPath, Places, place
from mlplatform.project.bundle.substitution import REFERENCE

_NAMES = {
    "str": "a string",
    "bool": "a boolean",
    "int": "an integer",
    "num": "a number",
    "map": "a mapping",
    "list": "a sequence",
}


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a sequence"
    return "null" if value is None else type(value).__name__


def check(value: Any, spec: Any, path: KeyPath, places: Places, problems: Problems) -> Any:
    """Warn about unknown keys under `path`, report values of the wrong type, and give the value
    with strings converted where the spec wants a boolean or a number (`--var dev=true`, as the
    Databricks CLI converts them); containers are converted in place."""
    if value is None or spec == "any":
        return value
    if isinstance(value, str) and REFERENCE.fullmatch(value):
        return value  # a whole reference left for later (a resource's id or name)
    if isinstance(spec, list):
        if not isinstance(value, list):
            _wrong(value, "a sequence", path, places, problems)
            return value
        for index, item in enumerate(value):
            value[index] = check(item, spec[0], (*path, index), places, problems)
        return value
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            _wrong(value, "a mapping", path, places, problems)
            return value
        for key, item in value.items():
            if key in spec:
                value[key] = check(item, spec[key], (*path, key), places, problems)
            elif "*" in spec:
                value[key] = check(item, spec["*"], (*path, key), places, problems)
            else:
                problems.warn(f"unknown field: {key}", place(places, (*path, key)))
        return value
    value = _converted(value, spec)
    if not _fits(value, spec):
        _wrong(value, _NAMES[spec], path, places, problems)
    return value


def _converted(value: Any, spec: str) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if spec == "bool" and text in ("true", "false"):
        return text == "true"
    try:
        if spec == "int":
            return int(text)
        if spec == "num":
            return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return value
    return value


def _fits(value: Any, spec: str) -> bool:
    if spec == "str":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if spec == "bool":
        return isinstance(value, bool)
    if spec == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec == "map":
        return isinstance(value, dict)
    if spec == "list":
        return isinstance(value, list)
    return True


def _wrong(value: Any, expected: str, path: KeyPath, places: Places, problems: Problems) -> None:
    shown = f": {json.dumps(value)}" if isinstance(value, (str, int, float)) else ""
    problems.error(f"expected {expected}, found {type_name(value)}{shown}", place(places, path))
