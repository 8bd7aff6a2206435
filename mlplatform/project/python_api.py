"""The Python face of a project: the same resources as the bundle YAML, declared in code.

A team may build a whole `Project` in Python (`project(...)` with `pipeline(...)`,
`registered_model(...)`, `experiment(...)`), or keep its `databricks.yml` and add resources from
functions named in the bundle's `python.resources` (`"module:function"`). Such a function takes
the `Project` and returns more resources (model objects, or an iterable of them), a
`dg.Definitions` to merge into the project's code location, a mix of both in an iterable, or
None. The project's root is on `sys.path` while its modules import, so `resources:load` finds
`resources.py` beside the bundle file.

    # resources.py
    from mlplatform.project import python_api as mp

    def load(project):
        return [mp.registered_model("spend_model", catalog=project.variables["catalog"],
                                    schema="ml", comment="30-day spend")]

A project declared wholly in Python becomes a code location the same way a bundle does:

    # definitions.py
    from mlplatform.project import python_api as mp
    from mlplatform.project.definitions import project_definitions

    defs = project_definitions(mp.project("shop", ".", [
        mp.pipeline("orders", "src/**", schema="shop", configuration={"shop.landing": "in/"}),
        mp.registered_model("order_value", schema="shop"),
    ]))
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from mlplatform.project.model import (
    Experiment,
    Library,
    ModelAlias,
    Pipeline,
    Project,
    QualityMonitor,
    RegisteredModel,
    Target,
)

Resource = Pipeline | RegisteredModel | Experiment | QualityMonitor
KIND_OF = {
    Pipeline: "pipelines",
    RegisteredModel: "registered_models",
    Experiment: "experiments",
    QualityMonitor: "quality_monitors",
}


class PythonResourcesError(ValueError):
    """A `python.resources` entry that cannot be imported, called or used; names the entry."""


def glob(include: str) -> Library:
    """A `libraries` entry `- glob: {include: ...}` (relative to the project root)."""
    return Library(glob=include)


def file(path: str | Path) -> Library:
    """A `libraries` entry `- file: {path: ...}`."""
    return Library(file=Path(path))


def notebook(path: str | Path) -> Library:
    """A `libraries` entry `- notebook: {path: ...}` (a .py or .sql source notebook)."""
    return Library(notebook=Path(path))


def pipeline(
    key: str,
    *libraries: Library | str,
    name: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    development: bool = False,
    continuous: bool = False,
) -> Pipeline:
    """`resources.pipelines.<key>`; a library given as text is a glob."""
    libs = tuple(glob(lib) if isinstance(lib, str) else lib for lib in libraries)
    config = {str(k): str(v) for k, v in (configuration or {}).items()}
    return Pipeline(
        key,
        name or key,
        libs,
        catalog,
        schema,
        config,
        development,
        continuous,
        position=_caller(),
    )


def registered_model(
    name: str,
    *,
    key: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    comment: str | None = None,
    aliases: Mapping[str, int] | None = None,
) -> RegisteredModel:
    """`resources.registered_models.<key>` (key: the name); aliases map alias to version."""
    found = tuple(ModelAlias(a, int(v)) for a, v in (aliases or {}).items())
    return RegisteredModel(key or name, name, catalog, schema, comment, found, _caller())


def experiment(
    name: str, *, key: str | None = None, artifact_location: str | None = None, **tags: str
) -> Experiment:
    """`resources.experiments.<key>` (key: the name's last part)."""
    key = key or name.rstrip("/").rsplit("/", 1)[-1]
    return Experiment(key, name, artifact_location, dict(tags), _caller())


def project(
    name: str,
    root: str | Path,
    resources: Iterable[Resource] = (),
    *,
    target: str = "dev",
    mode: str | None = "development",
    variables: Mapping[str, Any] | None = None,
    owners: Iterable[str] = (),
) -> Project:
    """A whole project declared in Python, resolved for `target`."""
    base = Project(
        name,
        Path(root).resolve(),
        Target(target, mode, default=True),
        variables=dict(variables or {}),
        owners=tuple(owners),
    )
    return with_resources(base, resources, "project()")


def with_resources(project: Project, resources: Iterable[Resource], origin: str) -> Project:
    """`project` with `resources` added; a key already declared is refused, naming `origin`."""
    kinds = {k: dict(getattr(project, k)) for k in KIND_OF.values()}
    for resource in resources:
        kind = KIND_OF.get(type(resource))
        if kind is None:
            raise PythonResourcesError(
                f"{origin}: {resource!r} is not a project resource (pipeline, registered_model, "
                "experiment, quality monitor) nor a dagster Definitions"
            )
        if resource.key in kinds[kind]:
            raise PythonResourcesError(
                f"{origin}: resources.{kind}.{resource.key} is declared twice"
            )
        kinds[kind][resource.key] = resource
    return dataclasses.replace(project, **kinds)


def apply_python_resources(project: Project) -> tuple[Project, list[dg.Definitions]]:
    """Run the project's `python.resources` functions: the project with their resources, and
    the Definitions they returned (to merge into the project's)."""
    extra: list[dg.Definitions] = []
    for entry in project.python_modules:
        result = _call(project, entry)
        items = result if _iterable(result) else [result]
        resources = []
        for item in items:
            if item is None:
                continue
            if isinstance(item, dg.Definitions):
                extra.append(item)
            else:
                resources.append(item)
        project = with_resources(project, resources, f"python.resources {entry!r}")
    return project, extra


def _call(project: Project, entry: str):
    module_name, _, function = entry.partition(":")
    if not module_name or not function:
        raise PythonResourcesError(
            f"python.resources {entry!r}: write it as 'module:function' (e.g. 'resources:load')"
        )
    root = str(project.root)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise PythonResourcesError(
            f"python.resources {entry!r}: cannot import {module_name!r} from {root}: {err}"
        ) from err
    finally:
        if added:
            sys.path.remove(root)
    func = getattr(module, function, None)
    if not callable(func):
        raise PythonResourcesError(
            f"python.resources {entry!r}: {module_name} has no function {function!r}"
        )
    return func(project)


def _iterable(value) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, (str, dg.Definitions))


def _caller():
    """Where the user's code called a helper (file and line), for error messages."""
    from mlplatform.project.model import Position

    frame = sys._getframe(2)  # noqa: SLF001 (the caller of the helper)
    return Position(Path(frame.f_code.co_filename), frame.f_lineno, "python")
