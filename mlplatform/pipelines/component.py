"""The Dagster component of a pipeline spec: a ``defs.yaml`` declares a pipeline without Python.

type: mlplatform.pipelines.component.PipelineComponent
attributes:
  spec: spark-pipeline.yml   # relative to the defs.yaml folder
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from mlplatform.pipelines.spec import load


class PipelineComponent(dg.Component, dg.Model, dg.Resolvable):
    """A Lakeflow / Spark Declarative Pipelines spec (``spark-pipeline.yml``) as mlplatform
    tables: one asset per stored dataset, checks for its expectations, and its event log."""

    spec: str = "spark-pipeline.yml"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        path = Path(self.spec)
        path = path if path.is_absolute() else Path(context.path) / path
        return load(path).pipeline.definitions()
