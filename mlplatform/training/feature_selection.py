"""Which features a training run uses (the list itself is `mlplatform.catalog.FEATURES`; the
rule computing them from gold rows is `mlplatform.customers.model_input`)."""

from __future__ import annotations

from collections.abc import Sequence

from mlplatform.catalog import FEATURES


def validate_features(features: Sequence[str] | None) -> list[str]:
    """The feature subset to train on (all features when `features` is empty or None).

    Raises:
        ValueError: a name is not a known feature, or a name is repeated.
    """
    if not features:
        return list(FEATURES)
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown features {unknown}; choose from {FEATURES}")
    if len(set(features)) != len(features):
        raise ValueError(f"features repeat a name: {list(features)}")
    return [f for f in FEATURES if f in features]
