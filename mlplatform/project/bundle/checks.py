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


def check(value: Any, spec: Any, path: KeyPath, places: Places, problems: Problems) -> None:
    """Warn about unknown keys under `path` and report values of the wrong type."""
    if value is None or spec == "any":
        return
    if isinstance(value, str) and REFERENCE.fullmatch(value):
        return  # a whole reference left for later (a resource's id or name)
    if isinstance(spec, list):
        if not isinstance(value, list):
            _wrong(value, "a sequence", path, places, problems)
            return
        for index, item in enumerate(value):
            check(item, spec[0], (*path, index), places, problems)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            _wrong(value, "a mapping", path, places, problems)
            return
        for key, item in value.items():
            if key in spec:
                check(item, spec[key], (*path, key), places, problems)
            elif "*" in spec:
                check(item, spec["*"], (*path, key), places, problems)
            else:
                problems.warn(f"unknown field: {key}", place(places, (*path, key)))
        return
    if not _fits(value, spec):
        _wrong(value, _NAMES[spec], path, places, problems)


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
