"""Feature table declarations: primary keys, a timestamp key and a documented feature per column.

A `FeatureTable` is what Databricks' `create_table(primary_keys=..., timestamp_keys=...)` records:
the lookup contract of a Delta table. Declaring one registers it by name, so a `FeatureLookup`
can name the table (`"gold/user_features_history"`) and the point-in-time join knows its
keys. The declaration also gives the Dagster metadata (keys, owners, the column schema) the UI
shows before the first run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from mlplatform.lakehouse.names import resolve_name
from mlplatform.settings import Settings

_REGISTRY: dict[str, FeatureTable] = {}


@dataclass(frozen=True)
class Feature:
    """One feature column: its Delta type, what it means and who answers for it."""

    name: str
    dtype: str  # Delta type name: double, bigint, timestamp_ntz, string
    description: str
    owner: str


@dataclass(frozen=True)
class FeatureTable:
    """A Delta table of features keyed by `primary_keys`, one row per key and `timestamp_key`."""

    name: str  # "<layer>/<table>" or a table name ("cat.sch.t"): kept as its lakehouse key
    primary_keys: tuple[str, ...]
    timestamp_key: str | None
    features: tuple[Feature, ...]
    description: str
    key_types: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", table_key(self.name))
        if not self.primary_keys:
            raise ValueError(f"feature table {self.name} needs at least one primary key")
        if self.timestamp_key is not None and self.timestamp_key not in self.primary_keys:
            raise ValueError(
                f"feature table {self.name}: the timestamp key {self.timestamp_key!r} must be "
                f"one of the primary keys {list(self.primary_keys)}"
            )
        names = [f.name for f in self.features]
        clash = sorted(set(names) & set(self.primary_keys))
        if clash or len(set(names)) != len(names):
            raise ValueError(f"feature table {self.name}: repeated or key-named features {clash}")

    @property
    def lookup_keys(self) -> tuple[str, ...]:
        """The primary keys other than the timestamp key (what a lookup matches on)."""
        return tuple(k for k in self.primary_keys if k != self.timestamp_key)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(self.name.split("/"))

    def path(self, settings: Settings) -> Path:
        layer, table = self.name.rsplit("/", 1)
        return settings.table_path(layer, table)

    def column_schema(self) -> dg.TableSchema:
        """The table's columns for the UI: keys first, then each feature with its description."""
        keys = [
            dg.TableColumn(
                k,
                self.key_types.get(k, "string"),
                description="timestamp key" if k == self.timestamp_key else "primary key",
                constraints=dg.TableColumnConstraints(nullable=False),
            )
            for k in self.primary_keys
        ]
        features = [
            dg.TableColumn(f.name, f.dtype, description=f"{f.description} (owner: {f.owner})")
            for f in self.features
        ]
        return dg.TableSchema(columns=keys + features)

    def metadata(self) -> dict:
        """Definition-time metadata: the declaration and the column schema."""
        return {
            "dagster/column_schema": self.column_schema(),
            "dagster/table_name": self.name.replace("/", "."),
            "feature_table/primary_keys": dg.MetadataValue.json(list(self.primary_keys)),
            "feature_table/timestamp_key": self.timestamp_key or dg.MetadataValue.null(),
            "feature_table/features": dg.MetadataValue.json(
                {f.name: {"description": f.description, "owner": f.owner} for f in self.features}
            ),
        }


def table_key(name: str) -> str:
    """The lakehouse key of a feature table named ``<layer>/<table>`` (as the platform's own
    tables are) or as Unity Catalog names tables (``catalog.schema.table``, ``schema.table``):
    ``catalog/schema/table`` or ``schema/table``, the platform's one name rule.

    Raises:
        ValueError: naming the name when it is neither.
    """
    parts = name.split("/") if isinstance(name, str) and "/" in name else None
    if parts is not None:
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                f"feature table name {name!r} must be '<layer>/<table>' or 'catalog.schema.table'"
            )
        return name
    try:
        return resolve_name(name).key
    except ValueError as err:
        raise ValueError(f"feature table name {name!r}: {err}") from err


def register(table: FeatureTable) -> FeatureTable:
    """Make `table` known by name to lookups (declaring the same name twice replaces it)."""
    _REGISTRY[table.name] = table
    return table


def get_feature_table(name: str) -> FeatureTable:
    """The declared feature table called `name`.

    Raises:
        KeyError: no such feature table (the message lists the declared ones).
    """
    try:
        return _REGISTRY[table_key(name)]
    except (KeyError, ValueError):
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"{name!r} is not a declared feature table (declared: {known})") from None
