"""The `dg` component of a project: a `defs.yaml` loads a bundle into a `dg` project.

    type: mlplatform.Bundle
    attributes:
      path: ../../my_project   # the bundle folder, relative to this defs.yaml's folder
      target: dev              # default: the bundle's default target
      variables:               # as `--var k=v`
        catalog: dev

The bundle's resources become the same definitions `mlplatform bundle deploy` registers.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from mlplatform.project.definitions import load_definitions


class Bundle(dg.Component, dg.Model, dg.Resolvable):
    """A Databricks-style bundle (`databricks.yml`) as Dagster definitions: its pipelines'
    tables, its registered models and what its `python.resources` add."""

    path: str = "."
    target: str | None = None
    variables: dict[str, str] = {}

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        folder = Path(self.path)
        folder = folder if folder.is_absolute() else Path(context.path) / folder
        return load_definitions(folder.resolve(), self.target, self.variables)
