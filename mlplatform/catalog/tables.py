"""One object per table of the native graph: layer, name, asset key, app id, path, schema.

Paths are `$MLPLATFORM_HOME/lakehouse/<layer>/<table>` (`Settings.table_path`), asset keys
`[<layer>, <table>]` and app ids (the app transaction of each commit) `<layer>/<table>`, as the
public contract fixes them. The lakehouse's own pipeline event log (`lakehouse/_event_log`) is
written by the table layer, below every domain, and is not listed here.
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


# features: the medallion tables
RAW_CUSTOMER_EVENTS = Table("bronze", "raw_customer_events")
RAW_CUSTOMER_LABELS = Table("bronze", "raw_customer_labels")
CLEANED_CUSTOMER_EVENTS = Table("silver", "cleaned_customer_events", schemas.SILVER_SCHEMA)
CLEANED_CUSTOMER_EVENTS_QUARANTINE = Table("silver", "cleaned_customer_events_quarantine")
CUSTOMER_ML_FEATURES = Table("gold", "customer_ml_features", schemas.GOLD_SCHEMA)
# features: the feature store's tables
CUSTOMER_ML_FEATURES_HISTORY = Table("gold", "customer_ml_features_history")
CHURN_TRAINING_SET = Table("ml", "churn_training_set")
ONLINE_CUSTOMER_ML_FEATURES = OnlineTable("online", "customer_ml_features")
# serving
PAYLOAD = Table("serving", "churn_predictor_payload", schemas.PAYLOAD_SCHEMA)
INFERENCE = Table("serving", "churn_predictor_inference", schemas.INFERENCE_TABLE_SCHEMA)
# monitoring
PROFILE_METRICS = Table("monitoring", f"{INFERENCE.name}_profile_metrics", schemas.PROFILE_SCHEMA)
DRIFT_METRICS = Table("monitoring", f"{INFERENCE.name}_drift_metrics", schemas.DRIFT_SCHEMA)
TABLE_QUALITY = Table("monitoring", "table_quality", schemas.QUALITY_SCHEMA)

TABLES = (
    RAW_CUSTOMER_EVENTS,
    RAW_CUSTOMER_LABELS,
    CLEANED_CUSTOMER_EVENTS,
    CLEANED_CUSTOMER_EVENTS_QUARANTINE,
    CUSTOMER_ML_FEATURES,
    CUSTOMER_ML_FEATURES_HISTORY,
    CHURN_TRAINING_SET,
    PAYLOAD,
    INFERENCE,
    PROFILE_METRICS,
    DRIFT_METRICS,
    TABLE_QUALITY,
)
"""Every Delta table of the native graph."""
