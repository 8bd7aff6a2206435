"""Static analysis of DLT query functions: which datasets they read, and their cloudFiles source.

Dependencies come from literal names in ``dlt.read`` / ``dlt.read_stream`` (and
``spark.read.table`` / ``spark.readStream.table``) calls, as DLT resolves them; the Auto Loader
source comes from a ``spark.readStream.format("cloudFiles")...load(path)`` chain.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field


class DltDefinitionError(ValueError):
    """A DLT definition mlplatform cannot run, with what to do instead."""


@dataclass
class QueryAnalysis:
    reads: list[str] = field(default_factory=list)  # full reads, in order of first appearance
    streams: list[str] = field(default_factory=list)  # incremental reads
    cloud_files: dict | None = None  # {"path": ..., "options": {...}}


def strip_live(name: str) -> str:
    return name[len("LIVE.") :] if name.upper().startswith("LIVE.") else name


def _literal(node: ast.AST, env: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.JoinedStr):
        raise DltDefinitionError("f-strings are not resolved statically")
    raise DltDefinitionError(f"not a literal: {ast.unparse(node)}")


def _chain(node: ast.Call) -> list[tuple[str, ast.Call]]:
    """The method calls of a chain like ``a.b(...).c(...)``, innermost first."""
    out = []
    current = node
    while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
        out.append((current.func.attr, current))
        current = current.func.value
        while isinstance(current, ast.Attribute):  # spark.readStream.format: skip attributes
            if isinstance(current.value, ast.Call):
                current = current.value
                break
            current = current.value
    return list(reversed(out))


def analyze(func, dataset: str) -> QueryAnalysis:
    """Find what ``func`` reads. Raises DltDefinitionError for what cannot be resolved."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as err:
        raise DltDefinitionError(
            f"dataset {dataset!r}: the source of {func} is not available"
        ) from err
    tree = ast.parse(source)
    env = {k: v for k, v in getattr(func, "__globals__", {}).items() if isinstance(v, str)}
    result = QueryAnalysis()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr = node.func.attr
        owner = ast.unparse(node.func.value)
        if attr in ("read", "read_stream", "readStream") and owner.split(".")[-1] == "dlt":
            name = _first_arg(node, env, dataset, f"dlt.{attr}")
            target = result.streams if attr != "read" else result.reads
            if name not in target:
                target.append(name)
        elif attr == "table" and (
            owner == "spark" or owner.endswith(("spark.read", "spark.readStream"))
        ):
            name = _first_arg(node, env, dataset, f"{owner}.table")
            target = result.streams if owner.endswith("readStream") else result.reads
            if name not in target:
                target.append(name)
        elif attr == "load":
            chain = dict(_chain(node))
            fmt = chain.get("format")
            if fmt is not None and _literal(fmt.args[0], env) == "cloudFiles":
                result.cloud_files = _cloud_files(node, env, dataset)
    return result


def _first_arg(node: ast.Call, env: dict, dataset: str, call: str) -> str:
    if not node.args:
        raise DltDefinitionError(f"dataset {dataset!r}: {call}() needs the dataset name")
    try:
        return strip_live(_literal(node.args[0], env))
    except DltDefinitionError as err:
        raise DltDefinitionError(
            f"dataset {dataset!r}: {call}({ast.unparse(node.args[0])}) must name the dataset "
            "with a string literal or a module-level constant, so dependencies are known "
            "before the pipeline runs"
        ) from err


def _cloud_files(load: ast.Call, env: dict, dataset: str) -> dict:
    options: dict[str, str] = {}
    for attr, call in _chain(load):
        if attr == "option" and len(call.args) == 2:
            options[str(_literal(call.args[0], env))] = str(_literal(call.args[1], env))
        elif attr == "options":
            for kw in call.keywords:
                options[kw.arg] = str(_literal(kw.value, env))
    if not load.args:
        raise DltDefinitionError(f"dataset {dataset!r}: cloudFiles .load() needs a path")
    try:
        path = _literal(load.args[0], env)
    except DltDefinitionError as err:
        raise DltDefinitionError(
            f"dataset {dataset!r}: the cloudFiles path {ast.unparse(load.args[0])} must be a "
            "string literal or a module-level constant"
        ) from err
    return {"path": path, "options": options}
