"""The table type of the catalog (layer, name, asset key, app id, path, schema) and the tables
the platform itself names: the table-quality table and each model's payload and inference tables.

Paths are `$MLPLATFORM_HOME/lakehouse/<layer>/<table>` (`Settings.table_path`), asset keys
`[<layer>, <table>]` and app ids (the app transaction of each commit) `<layer>/<table>`, as the
public contract fixes them. A project's own tables are `Table`s it declares. The lakehouse's own
pipeline event log (`lakehouse/_event_log`) is written by the table layer and is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from mlplatform.catalog import schemas
from mlplatform.catalog.names import DELTA_VERSION_TAG
from mlplatform.settings import Settings

if TYPE_CHECKING:
    from mlplatform.lakehouse.delta import DeltaStore

_DELTA_TYPES = {
    pl.String: "string",
    pl.Float64: "double",
    pl.Float32: "float",
    pl.Int64: "long",
    pl.Int32: "integer",
    pl.Int8: "tinyint",
    pl.Boolean: "boolean",
    pl.Date: "date",
}


def delta_type(dtype: pl.DataType) -> str:
    """The Delta type name of a polars dtype (`timestamp_ntz` for a naive datetime; nested types
    in Spark's DDL form: `array<double>`, `struct<statistic:double,pvalue:double>`)."""
    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone else "timestamp_ntz"
    if isinstance(dtype, pl.List):
        return f"array<{delta_type(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return f"struct<{','.join(f'{f.name}:{delta_type(f.dtype)}' for f in dtype.fields)}>"
    return _DELTA_TYPES[dtype.base_type()]


@dataclass(frozen=True)
class _Named:
    """A table's layer and name, and the names derived from them."""

    layer: str
    name: str

    @property
    def key(self) -> str:
        """`<layer>/<table>`: the asset key as a string, the lineage key of model tags."""
        return f"{self.layer}/{self.name}"

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.layer, self.name])

    @property
    def table_name(self) -> str:
        """`<layer>.<table>`: the `dagster/table_name` metadata."""
        return f"{self.layer}.{self.name}"


@dataclass(frozen=True)
class Table(_Named):
    """A table of the catalog (Delta unless said otherwise)."""

    schema: dict[str, pl.DataType] | None = field(default=None, compare=False, hash=False)
    """The fixed columns (polars dtypes), where the table has a fixed set."""

    @property
    def app_id(self) -> str:
        """The app id of the table's Delta commits (`Transaction(app_id, batch_id)`)."""
        return self.key

    @property
    def version_tag(self) -> str:
        """The model version tag holding the Delta version of this table training read."""
        return f"{DELTA_VERSION_TAG}{self.key}"

    def path(self, settings: Settings) -> Path:
        return settings.table_path(self.layer, self.name)

    def store(self, settings: Settings) -> DeltaStore:
        """The table's `DeltaStore` (every write carries this table's app id)."""
        from mlplatform.lakehouse.delta import DeltaStore

        return DeltaStore(self.path(settings), self.app_id)

    def delta_schema(self) -> dict[str, str]:
        """The fixed columns as Delta type names (the lakehouse's declared `schema`)."""
        return {c: delta_type(t) for c, t in (self.schema or {}).items()}

    def catalog_metadata(self) -> dict:
        """Definition-time metadata of the table's asset, so the UI shows the table before its
        first run: `dagster/table_name` and, for a table with fixed columns,
        `dagster/column_schema`."""
        meta: dict = {"dagster/table_name": self.table_name}
        if self.schema:
            meta["dagster/column_schema"] = dg.TableSchema(
                columns=[dg.TableColumn(c, t) for c, t in self.delta_schema().items()]
            )
        return meta


@dataclass(frozen=True)
class OnlineTable(_Named):
    """A table of the online store (SQLite or PostgreSQL), not a Delta table; `name` is the
    table's name in the online database."""


TABLE_QUALITY = Table("monitoring", "table_quality", schemas.QUALITY_SCHEMA)
"""Freshness and completeness of every Delta table of the graph."""

SERVING_LAYER = "serving"


def payload_table(model_name: str) -> Table:
    """`serving/<model>_payload`: one row per request the scoring server of `model_name` got."""
    return Table(SERVING_LAYER, f"{_stem(model_name)}_payload", schemas.PAYLOAD_SCHEMA)


def inference_table(model_name: str, schema: dict[str, pl.DataType] | None = None) -> Table:
    """`serving/<model>_inference`: one row per prediction of `model_name`, unpacked from its
    payload table (`schema`: `schemas.inference_schema(...)` of the model)."""
    return Table(SERVING_LAYER, f"{_stem(model_name)}_inference", schema)


def _stem(model_name: str) -> str:
    """A registered model's name as a table name (a three-level `cat.schema.model`: `model`)."""
    return model_name.rsplit(".", 1)[-1]
