"""Find and load the project `mlplatform.definitions` serves: a folder with a bundle file whose
`python.resources` names `<module>:<function>`; the function takes the `Project` and returns the
project's `dg.Definitions`.

The project is `MLPLATFORM_PROJECT` (a folder), else the folder named by `[tool.mlplatform]
project` in the `pyproject.toml` of the checkout the package runs from (an editable install: the
demo under `examples/`). This reads only what loading needs (the bundle's
name, `python.resources` and the registered models' names): the full bundle reader replaces it.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import yaml

from mlplatform.project.model import Project, RegisteredModel, Target
from mlplatform.settings.variables import PROJECT

BUNDLE_FILES = ("databricks.yml", "databricks.yaml", "bundle.yml")
CHECKOUT = Path(__file__).resolve().parent.parent


class ProjectError(Exception):
    """The project cannot be found or loaded (the message names the file and key)."""


def checkout_project() -> Path | None:
    """`[tool.mlplatform] project` of the checkout's `pyproject.toml` (None: not a checkout)."""
    pyproject = CHECKOUT / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as handle:
        folder = tomllib.load(handle).get("tool", {}).get("mlplatform", {}).get("project")
    return CHECKOUT / folder if folder else None


def project_root() -> Path:
    """The project folder: `MLPLATFORM_PROJECT`, else the checkout's default project."""
    configured = PROJECT.value()
    root = Path(configured).expanduser().resolve() if configured else checkout_project()
    if root is None:
        raise ProjectError("no project: set MLPLATFORM_PROJECT to a project folder")
    if not root.is_dir():
        where = f"MLPLATFORM_PROJECT={configured}" if configured else f"the default project {root}"
        raise ProjectError(f"{where}: no such folder (set MLPLATFORM_PROJECT to a project)")
    return root


def bundle_file(root: Path) -> Path:
    for name in BUNDLE_FILES:
        if (root / name).is_file():
            return root / name
    raise ProjectError(f"{root}: no bundle file ({', '.join(BUNDLE_FILES)})")


def read_project(root: Path | None = None) -> Project:
    """The `Project` of `root` (default: `project_root()`), with what loading needs."""
    root = root or project_root()
    path = bundle_file(root)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ProjectError(f"{path}: not valid YAML: {err}") from err
    name = (doc.get("bundle") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(f"{path}: key bundle.name: a project needs a name")
    targets = doc.get("targets") or {}
    target = next((t for t, v in targets.items() if (v or {}).get("default")), "dev")
    mode = (targets.get(target) or {}).get("mode")
    models = (doc.get("resources") or {}).get("registered_models") or {}
    registered = {
        key: RegisteredModel(key=key, name=(spec or {}).get("name", key))
        for key, spec in models.items()
    }
    modules = tuple((doc.get("python") or {}).get("resources") or ())
    return Project(
        name=name,
        root=root,
        target=Target(target, mode=mode, default=True),
        registered_models=registered,
        python_modules=modules,
    )


def default_model(project: Project | None = None) -> str:
    """The registered model commands act on by default: the project's first one."""
    project = project or read_project()
    if not project.registered_models:
        raise ProjectError(f"{project.root}: the project declares no registered_models")
    return next(iter(project.registered_models.values())).full_name


def import_entry(project: Project, entry: str):
    """The object `<module>:<attribute>` of the project (its root goes on sys.path)."""
    module_name, _, attribute = entry.partition(":")
    if str(project.root) not in sys.path:
        sys.path.insert(0, str(project.root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ProjectError(
            f"{bundle_file(project.root)}: python.resources {entry!r}: cannot import "
            f"{module_name!r}: {err}"
        ) from err
    if not attribute or not hasattr(module, attribute):
        raise ProjectError(
            f"{bundle_file(project.root)}: python.resources {entry!r}: {module_name!r} has no "
            f"attribute {attribute!r}"
        )
    return getattr(module, attribute)


def project_definitions(project: Project | None = None):
    """Call each `python.resources` function with the project; merge their Definitions."""
    import dagster as dg

    project = project or read_project()
    if not project.python_modules:
        raise ProjectError(f"{bundle_file(project.root)}: key python.resources is empty")
    return dg.Definitions.merge(
        *(import_entry(project, e)(project) for e in project.python_modules)
    )


def project_attribute(name: str, project: Project | None = None):
    """An attribute of the project's `python.resources` modules (the first that has it), e.g.
    `demo_data_command` (a click command: `mlplatform demo-data`), `generate_demo_data` and
    `demo_data_present` (`mlplatform quickstart`); None when no module defines it."""
    project = project or read_project()
    for entry in project.python_modules:
        module = import_entry(project, entry.partition(":")[0] + ":__name__")
        found = getattr(sys.modules[module], name, None)
        if found is not None:
            return found
    return None
