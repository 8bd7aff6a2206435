"""A stand-in for the bundle reader (`mlplatform.project.bundle.load_project`) until it lands:
enough of `databricks.yml` for these tests (bundle name, targets, pipelines, registered models,
experiments, jobs, python.resources), no `${...}`. `install()` puts it in place only where the real
reader is missing, so the same tests run against the real one once it is there."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import yaml

from mlplatform.project import model as m


def load_project(path, target=None, variables=None) -> m.Project:
    root = Path(path).resolve()
    file = root / "databricks.yml"
    doc = yaml.safe_load(file.read_text())
    targets = doc.get("targets") or {"dev": {"default": True}}
    name = target or next((k for k, v in targets.items() if (v or {}).get("default")), None)
    t = targets[name] or {}
    res = doc.get("resources") or {}

    def pos(kind, key):
        return m.Position(file, 1, f"resources.{kind}.{key}")

    def lib(entry):
        kind, value = next(iter(entry.items()))
        if kind == "glob":
            return m.Library(glob=value["include"])
        return m.Library(**{kind: Path(value["path"])})

    pipes = {
        k: m.Pipeline(
            k,
            v.get("name", k),
            tuple(lib(e) for e in v.get("libraries", [])),
            v.get("catalog"),
            v.get("schema"),
            dict(v.get("configuration") or {}),
            position=pos("pipelines", k),
        )
        for k, v in (res.get("pipelines") or {}).items()
    }
    models = {
        k: m.RegisteredModel(
            k,
            v["name"],
            v.get("catalog_name"),
            v.get("schema_name"),
            v.get("comment"),
            tuple(m.ModelAlias(a["alias_name"], a["version_num"]) for a in v.get("aliases", [])),
            pos("registered_models", k),
        )
        for k, v in (res.get("registered_models") or {}).items()
    }
    exps = {
        k: m.Experiment(k, v["name"], position=pos("experiments", k))
        for k, v in (res.get("experiments") or {}).items()
    }
    return m.Project(
        doc["bundle"]["name"],
        root,
        m.Target(name, t.get("mode"), bool(t.get("default"))),
        dict(variables or {}),
        pipes,
        models,
        exps,
        jobs=dict(res.get("jobs") or {}),
        python_modules=tuple((doc.get("python") or {}).get("resources") or ()),
    )


def install() -> None:
    """Make `mlplatform.project.bundle.load_project` this stand-in if the reader is missing."""
    if importlib.util.find_spec("mlplatform.project.bundle") is not None:
        return
    module = types.ModuleType("mlplatform.project.bundle")
    module.load_project = load_project
    sys.modules["mlplatform.project.bundle"] = module


if __name__ == "__main__":  # python -m tests.project_bundles <mlplatform args>
    install()
    from mlplatform.cli import main

    sys.argv[0] = "mlplatform"
    main()
