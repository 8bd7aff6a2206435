"""Find a project's bundle file and read YAML with the position of every value.

A value's place is kept in a side table keyed by its key path (a tuple of mapping keys and list
indexes), so the values themselves stay plain Python (`dict`, `list`, scalars). Anchors,
aliases and merge keys (`<<:`) are resolved as YAML defines them; a merged or aliased value
keeps the place where it was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlplatform.project.bundle.errors import BundleError, Diagnostic
from mlplatform.project.model import Position

BUNDLE_FILE_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")

KeyPath = tuple[str | int, ...]
Places = dict[KeyPath, Position]


def key_text(path: KeyPath) -> str:
    """`("resources", "pipelines", "p", "libraries", 0)` -> `resources.pipelines.p.libraries[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def find_bundle_file(start: Path) -> Path:
    """The bundle file of the project folder `start`, or of the nearest folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        found = [folder / name for name in BUNDLE_FILE_NAMES if (folder / name).is_file()]
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise BundleError(
                [Diagnostic(f"multiple bundle root configuration files found in {folder}: {names}")]
            )
        if found:
            return found[0]
    names = ", ".join(BUNDLE_FILE_NAMES)
    raise BundleError(
        [Diagnostic(f"unable to locate bundle root: no {names} in {start} or a folder above it")]
    )


def read_yaml(path: Path, shown_as: Path) -> tuple[Any, Places]:
    """Read `path`; give its value and the place of every value in it (file shown as `shown_as`).

    Raises:
        BundleError: the file is not valid YAML (the message names the line and column).
    """
    loader = yaml.SafeLoader(path.read_text())
    try:
        node = loader.get_single_node()
        places: Places = {}
        value = {} if node is None else _build(loader, node, (), shown_as, places)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        position = Position(shown_as, mark.line + 1, "", mark.column + 1) if mark else None
        raise BundleError([Diagnostic(f"YAML syntax error: {problem}", position)]) from None
    finally:
        loader.dispose()
    return value, places


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, file: Path, places: Places):
    places[path] = Position(
        file, node.start_mark.line + 1, key_text(path), node.start_mark.column + 1
    )
    if isinstance(node, yaml.MappingNode):
        _refuse_duplicate_keys(node, path, file)
        loader.flatten_mapping(node)  # merge keys: `<<: *anchor`
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            result[key] = _build(loader, value_node, (*path, key), file, places)
            places[(*path, key)] = Position(
                file,
                key_node.start_mark.line + 1,
                key_text((*path, key)),
                key_node.start_mark.column + 1,
            )
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), file, places)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _refuse_duplicate_keys(node: yaml.MappingNode, path: KeyPath, file: Path) -> None:
    """A key written twice in one mapping (keys a merge key brings may be overridden)."""
    seen: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in seen:
            first = seen[key_node.value].start_mark.line + 1
            mark = key_node.start_mark
            position = Position(
                file, mark.line + 1, key_text((*path, key_node.value)), mark.column + 1
            )
            summary = (
                f"key {key_node.value} is written twice in one mapping (first on line {first})"
            )
            raise BundleError([Diagnostic(summary, position)])
        seen[key_node.value] = key_node


def place(places: Places, path: KeyPath) -> Position:
    """The recorded place of `path`, or of its nearest parent that has one."""
    probe = path
    while probe:
        if probe in places:
            found = places[probe]
            return Position(found.file, found.line, key_text(path), found.column)
        probe = probe[:-1]
    return Position("databricks.yml", 0, key_text(path))
