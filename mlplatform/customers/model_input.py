"""The demo model's input rule, as `mlplatform.monitoring` imports it (a leftover: see
`mlplatform.catalog.monitored`). The rule is `mlplatform.feature_store.derived`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mlplatform.catalog.monitored import DERIVED_FROM, FEATURES
from mlplatform.feature_store.derived import default_as_of as _default_as_of
from mlplatform.feature_store.derived import features_for_scoring as _features_for_scoring
from mlplatform.feature_store.derived import parse_as_of

__all__ = ["default_as_of", "features_for_scoring", "parse_as_of"]


def features_for_scoring(df, as_of: str | datetime, features: Sequence[str] = FEATURES):
    """`mlplatform.feature_store.derived.features_for_scoring` with the demo's derived feature."""
    return _features_for_scoring(df, as_of, features, DERIVED_FROM)


def default_as_of(gold) -> datetime | None:
    """The latest `last_event_at` of gold rows (None if empty)."""
    return _default_as_of(gold, DERIVED_FROM["recency_days"])
