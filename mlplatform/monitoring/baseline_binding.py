"""Where the baselines of a monitored model's versions come from (cheap to import: no numpy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from mlplatform.settings import Settings


class BaselineUnavailable(Exception):
    """A model version's baseline cannot be built (the message says why)."""


Fallback = Callable[[Settings, str, dict[str, str]], tuple[pl.DataFrame, int, str]]
"""`(settings, version, tags) -> (feature frame, Delta version read, as_of)`; raises
`BaselineUnavailable` with the reason."""


@dataclass(frozen=True)
class BaselineBinding:
    """Where the baselines of a monitored model's versions come from."""

    model_name: str | None = None
    """The registered model whose version tags are read."""
    training_set: str | None = None
    """`<layer>/<table>` of the training set (tag `delta_version.<layer>/<table>`)."""
    features: tuple[str, ...] = ()
    """The compared feature columns, in order (empty: the version's `feature_columns`)."""
    fallback: Fallback | None = None
