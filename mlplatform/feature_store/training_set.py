"""Point-in-time training sets: labels joined as of their time with feature table rows.

The API follows Databricks' Feature Engineering client:

    training_set = create_training_set(
        labels,
        feature_lookups=[FeatureLookup(table="gold/user_features_history",
                                       lookup_key="user_id",
                                       timestamp_lookup_key="label_timestamp",
                                       feature_names=["total_events", "last_event_at"])],
        label="converted",
    )
    frame = training_set.load_df()

Each label row gets, per lookup, the feature row of the same key with the latest
`feature_timestamp <= label timestamp` (an as-of join), so no feature counts an event at or after
the label's time. With `lookback_window` a row older than `label time - lookback_window` is not
used (the bound is inclusive). A label row with no such row keeps null features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from mlplatform.feature_store.table import FeatureTable, get_feature_table
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import Settings, get_settings


@dataclass(frozen=True)
class FeatureLookup:
    """Which features of a feature table to join, on which label columns."""

    table: str
    lookup_key: str | list[str]
    timestamp_lookup_key: str | None = None
    feature_names: list[str] | None = None  # None: every feature of the table
    lookback_window: timedelta | None = None
    version: int | None = None  # the table's Delta version; None: the current one

    @property
    def keys(self) -> list[str]:
        return [self.lookup_key] if isinstance(self.lookup_key, str) else list(self.lookup_key)


@dataclass
class TrainingSet:
    """The labels with their point-in-time features, and what was read to build them."""

    frame: pl.DataFrame
    label: str | None
    feature_lookups: list[FeatureLookup]
    versions: dict[str, int] = field(default_factory=dict)  # Delta version read, per table
    feature_timestamp_columns: dict[str, str] = field(default_factory=dict)

    def load_df(self) -> pl.DataFrame:
        return self.frame

    def feature_names(self) -> list[str]:
        return [f for lookup in self.feature_lookups for f in _names(lookup)]

    def null_feature_rows(self) -> int:
        """Label rows that got no feature row from at least one lookup."""
        cols = list(self.feature_timestamp_columns.values())
        if not cols or self.frame.is_empty():
            return 0
        return int(self.frame.select(pl.any_horizontal(pl.col(cols).is_null()).sum()).item())


def _names(lookup: FeatureLookup) -> list[str]:
    if lookup.feature_names is None:
        return get_feature_table(lookup.table).feature_names
    return list(lookup.feature_names)


def _check(lookup: FeatureLookup, table: FeatureTable, labels: pl.DataFrame) -> None:
    names = _names(lookup)
    unknown = [n for n in names if n not in table.feature_names]
    if unknown:
        raise ValueError(
            f"{lookup.table} has no feature(s) {unknown}; it has {table.feature_names}"
        )
    if len(lookup.keys) != len(table.lookup_keys):
        raise ValueError(
            f"lookup_key {lookup.keys} does not match the keys {list(table.lookup_keys)} "
            f"of {lookup.table}"
        )
    needed = [*lookup.keys, *([lookup.timestamp_lookup_key] if lookup.timestamp_lookup_key else [])]
    missing = [c for c in needed if c not in labels.columns]
    if missing:
        raise ValueError(f"the labels lack the column(s) {missing} named by the lookup")
    if lookup.timestamp_lookup_key and table.timestamp_key is None:
        raise ValueError(f"{lookup.table} has no timestamp key: drop timestamp_lookup_key")
    if table.timestamp_key and not lookup.timestamp_lookup_key:
        raise ValueError(
            f"{lookup.table} is a time-series table: give timestamp_lookup_key (a label "
            "column of times), or the join would leak features from after the label"
        )
    if lookup.timestamp_lookup_key:
        dtype = labels.schema[lookup.timestamp_lookup_key]
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is not None:
            raise ValueError(
                f"label column {lookup.timestamp_lookup_key!r} must be a naive UTC timestamp, "
                f"got {dtype}"
            )


def _read_table(lookup: FeatureLookup, table: FeatureTable, settings: Settings):
    store = DeltaStore(table.path(settings), lookup.table)
    if not store.exists():
        raise FileNotFoundError(f"feature table {lookup.table} has no Delta table at {store.uri}")
    version = store.version() if lookup.version is None else lookup.version
    columns = [*table.primary_keys, *_names(lookup)]
    return store.scan(version).select(columns).collect(), version


def _join(labels: pl.DataFrame, lookup: FeatureLookup, table: FeatureTable, rows: pl.DataFrame):
    """`labels` with the lookup's features (and its feature timestamp as `ts_col`)."""
    rename = dict(zip(table.lookup_keys, lookup.keys, strict=True))
    rows = rows.rename(rename)
    for key in lookup.keys:
        rows = rows.with_columns(pl.col(key).cast(labels.schema[key]))
    if table.timestamp_key is None:
        return labels.join(rows, on=lookup.keys, how="left")
    at, ts = lookup.timestamp_lookup_key, table.timestamp_key
    ts_col = ts if ts not in labels.columns else f"{ts}__{table.name.rsplit('/', 1)[-1]}"
    rows = rows.rename({ts: ts_col}).with_columns(pl.col(ts_col).cast(labels.schema[at]))
    left = labels.with_row_index("__row").sort(at)
    joined = left.join_asof(
        rows.sort(ts_col),
        left_on=at,
        right_on=ts_col,
        by=lookup.keys,
        strategy="backward",
        check_sortedness=False,
    )
    if lookup.lookback_window is not None:
        stale = pl.col(ts_col) < pl.col(at) - pl.lit(lookup.lookback_window)
        joined = joined.with_columns(
            pl.when(stale).then(None).otherwise(pl.col(c)).alias(c)
            for c in [ts_col, *_names(lookup)]
        )
    return joined.sort("__row").drop("__row"), ts_col


def create_training_set(
    labels: pl.DataFrame,
    feature_lookups: list[FeatureLookup],
    label: str | None,
    exclude_columns: list[str] | None = None,
    settings: Settings | None = None,
) -> TrainingSet:
    """Join `labels` with the features of each lookup, point in time (see the module docstring).

    Args:
        labels: One row per training example: the lookup keys, the timestamp lookup key and the
            label column (naive UTC timestamps).
        feature_lookups: The features to join.
        label: The label column (None for a scoring set).
        exclude_columns: Columns to leave out of the result.
        settings: Where the lakehouse is (default: from the environment).

    Returns:
        The training set: the label rows in their order, with each lookup's features and
        feature timestamp.

    Raises:
        ValueError: a lookup that does not fit the table or the labels, or a missing label column.
        KeyError: an undeclared feature table.
        FileNotFoundError: a feature table that has not been written yet.
    """
    settings = settings or get_settings()
    if label is not None and label not in labels.columns:
        raise ValueError(f"the labels have no column {label!r} (columns: {labels.columns})")
    frame, versions, ts_cols = labels, {}, {}
    for lookup in feature_lookups:
        table = get_feature_table(lookup.table)
        _check(lookup, table, labels)
        clash = [n for n in _names(lookup) if n in frame.columns]
        if clash:
            raise ValueError(f"feature(s) {clash} of {lookup.table} are already columns")
        rows, versions[lookup.table] = _read_table(lookup, table, settings)
        if table.timestamp_key is None:
            frame = _join(frame, lookup, table, rows)
        else:
            frame, ts_cols[lookup.table] = _join(frame, lookup, table, rows)
    if exclude_columns:
        frame = frame.drop(exclude_columns, strict=False)
    return TrainingSet(frame, label, list(feature_lookups), versions, ts_cols)
