"""Which features a training run uses: a subset of the model's declared features
(`ModelLifecycle.features`), kept in their declared order."""

from __future__ import annotations

from collections.abc import Sequence


def validate_features(features: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    """The feature subset to train on (all of `known` when `features` is empty or None).

    Raises:
        ValueError: a name is not a known feature, or a name is repeated.
    """
    known = list(known)
    if not features:
        return known
    unknown = [f for f in features if f not in known]
    if unknown:
        raise ValueError(f"unknown features {unknown}; choose from {known}")
    if len(set(features)) != len(features):
        raise ValueError(f"features repeat a name: {list(features)}")
    return [f for f in known if f in features]
