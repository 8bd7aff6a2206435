"""Automatic feature lookup: a request row may carry only its lookup key (or some features).

For a model version logged with a feature spec, the features a row lacks are read from the online
store, one batched query per request; features in the payload win. A derived feature
(`recency_days` from `last_event_at`) is computed against the request time, the rule training
applies against the label time. A version without a spec, or a row without the key, is
checked as sent (a missing feature is the usual 400).

A key that is not in the online store, on a row that lacks a feature, fails the whole request
with 400 `FEATURES_NOT_FOUND` naming the keys (nothing is scored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mlplatform.feature_store.online import OnlineStore
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.serving.payloads import MISSING, PayloadError

FEATURES_NOT_FOUND = "FEATURES_NOT_FOUND"
REQUEST, ONLINE, MIXED = "request", "online", "mixed"
_SHOWN_KEYS = 20


@dataclass
class Filled:
    """A request's columns after the lookup, and where each row's features came from."""

    columns: dict[str, list]
    features_from: list[str]
    looked_up: bool

    def served(self, model_columns: tuple[str, ...]) -> str | None:
        """What the inference table records for a request that used the store (JSON)."""
        if not self.looked_up:
            return None
        return json.dumps(
            {
                "features_from": self.features_from,
                "columns": {c: self.columns[c] for c in model_columns if c in self.columns},
            },
            default=str,
        )


class OnlineFeatures:
    """Looks features up in one online table for the models that carry a feature spec."""

    def __init__(self, store: OnlineStore, table: str):
        self.store = store
        self.table = table

    def fill(
        self,
        columns: dict[str, list],
        rows: int,
        spec: FeatureSpec | None,
        model_columns: tuple[str, ...],
        now: datetime,
    ) -> Filled:
        """Complete `columns` (from `to_columns`) with the online features the rows lack.

        Raises:
            PayloadError: 400 `FEATURES_NOT_FOUND` for keys the store does not have.
        """
        key = spec.lookup_key if spec else None
        if spec is None or key not in columns:
            return Filled(columns, [REQUEST] * rows, False)
        keys = columns[key]
        missing = [
            [c for c in model_columns if c not in columns or columns[c][i] is MISSING]
            for i in range(rows)
        ]
        wanted = sorted({str(keys[i]) for i in range(rows) if missing[i] and _has(keys[i])})
        if not wanted:
            return Filled(columns, [REQUEST] * rows, False)
        found = self.store.lookup(self.table, key, wanted)
        absent = [k for k in wanted if k not in found]
        if absent:
            shown = ", ".join(absent[:_SHOWN_KEYS]) + (" ..." if len(absent) > _SHOWN_KEYS else "")
            raise PayloadError(
                400,
                f"no online features for {key} {shown} ({len(absent)} of {len(wanted)} keys): "
                f"send every feature for them, or publish {self.table} first",
                code=FEATURES_NOT_FOUND,
                details={"missing_keys": absent},
            )
        out = {c: list(v) for c, v in columns.items()}
        for c in model_columns:
            out.setdefault(c, [MISSING] * rows)
        sources = []
        for i in range(rows):
            if not missing[i] or not _has(keys[i]):
                sources.append(REQUEST)
                continue
            record = found[str(keys[i])]
            for c in missing[i]:
                out[c][i] = _value(record, c, spec, now)
            sources.append(ONLINE if len(missing[i]) == len(model_columns) else MIXED)
        return Filled(out, sources, True)


def _has(value) -> bool:
    return value is not MISSING and value is not None


def _value(record: dict, column: str, spec: FeatureSpec, now: datetime):
    source = spec.derived.get(column)
    if source is None:
        return record.get(column)
    at = record.get(source)
    if at is None:
        return None
    return max(0.0, (now - at).total_seconds() / 86_400)
