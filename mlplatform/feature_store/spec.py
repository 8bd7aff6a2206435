"""A model version's feature spec: which feature table, keys and features it was trained on.

Logged with every model version (an MLflow artifact `feature_spec.json` and version tags), as
Databricks' `log_model` records a feature spec: serving reads it to look features up for a key,
monitoring to find the training set.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

TAG_PREFIX = "feature_spec."
ARTIFACT = "feature_spec.json"


@dataclass(frozen=True)
class FeatureSpec:
    """What a model version needs from the feature store.

    Attributes:
        table: The feature table (`<layer>/<table>`).
        lookup_key: The key column requests and labels carry (e.g. `user_id`).
        timestamp_lookup_key: The label column the as-of join used (`label_timestamp`).
        feature_names: The feature table columns read.
        table_version: The feature table's Delta version the training set was built from.
        derived: Model inputs computed from a feature at the label or request time
            (`{"recency_days": "last_event_at"}`).
        training_set: The training set table (`<layer>/<table>`) and its Delta version.
    """

    table: str
    lookup_key: str
    timestamp_lookup_key: str | None
    feature_names: list[str]
    table_version: int | None
    derived: dict[str, str] = field(default_factory=dict)
    training_set: str | None = None
    training_set_version: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def tags(self) -> dict[str, str]:
        """Model version tags (text): one per field, lists and dicts as JSON."""
        out = {}
        for key, value in self.to_dict().items():
            text = json.dumps(value) if isinstance(value, list | dict) else value
            out[f"{TAG_PREFIX}{key}"] = "" if text is None else str(text)
        return out

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> FeatureSpec | None:
        """The spec in a version's tags, or None for a version logged without one."""
        if f"{TAG_PREFIX}table" not in tags:
            return None
        raw = {k.removeprefix(TAG_PREFIX): v for k, v in tags.items() if k.startswith(TAG_PREFIX)}

        def number(name):
            value = raw.get(name) or ""
            return int(value) if value.isdigit() else None

        return cls(
            table=raw["table"],
            lookup_key=raw.get("lookup_key") or "",
            timestamp_lookup_key=raw.get("timestamp_lookup_key") or None,
            feature_names=json.loads(raw.get("feature_names") or "[]"),
            table_version=number("table_version"),
            derived=json.loads(raw.get("derived") or "{}"),
            training_set=raw.get("training_set") or None,
            training_set_version=number("training_set_version"),
        )
