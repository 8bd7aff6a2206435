"""What serving needs to know of one registered model: its name, identifier columns (the lookup
keys requests may carry), features, label type and where its labels come from. Built from the
project's declaration (`ServedModel.from_lifecycle`); the payload and inference tables are named
from the model (`serving/<model>_payload`, `serving/<model>_inference`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from mlplatform.catalog import schemas
from mlplatform.catalog.tables import Table, inference_table, payload_table
from mlplatform.settings import Settings


@dataclass(frozen=True)
class ServedModel:
    name: str
    id_columns: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    label_dtype: pl.DataType = pl.Int64
    labels: Callable[[Settings], pl.DataFrame | None] | None = None
    """Labels as `id_columns..., label, label_timestamp` (None: no table yet)."""
    labels_table: Table | None = None

    @classmethod
    def from_lifecycle(cls, lc) -> ServedModel:
        """From a `ModelLifecycle` (its entity key, features, problem type and label reader)."""
        reader = lc.label_reader
        return cls(
            name=lc.registered_model,
            id_columns=(lc.entity_key,),
            features=tuple(lc.features),
            label_dtype=pl.Int64 if lc.classification else pl.Float64,
            labels=(lambda settings: reader(settings, None)) if reader else None,
            labels_table=lc.labels_table,
        )

    @property
    def payload(self) -> Table:
        return payload_table(self.name)

    @property
    def inference(self) -> Table:
        schema = schemas.inference_schema(self.id_columns, self.features, self.label_dtype)
        return inference_table(self.name, schema)
