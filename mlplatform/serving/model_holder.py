"""The champion model, loaded once and swapped in place when the alias moves.

A background thread resolves the alias every `poll_seconds`; when it points at another version,
that version is loaded off the request path and then published with one reference assignment.
A request takes the current `LoadedModel` once at its start, so in-flight requests finish on the
version they began with and no request ever sees a half-loaded model.
"""

from __future__ import annotations

import logging
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mlplatform.catalog import CHAMPION
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.serving.payloads import KNOWN_TYPES, InputSpec
from mlplatform.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model version and what the server needs to score with it."""

    name: str
    version: str
    alias: str
    spec: InputSpec | None
    predict: Callable
    loaded_at: datetime
    feature_spec: FeatureSpec | None = None  # the version's spec: features can be looked up

    def describe(self) -> dict:
        return {
            "model_name": self.name,
            "model_version": self.version,
            "alias": self.alias,
            "model_uri": f"models:/{self.name}/{self.version}",
            "loaded_at": self.loaded_at.isoformat(),
        }


def load_version(name: str, version: str, alias: str) -> LoadedModel:
    """Load a registered version as a pyfunc model (the tracking store must be set)."""
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    spec = InputSpec.from_schema(model.metadata.get_input_schema())
    predict = scorer(model, spec)
    _warm_up(predict, spec)
    tags = mlflow.MlflowClient().get_model_version(name, version).tags
    feature_spec = FeatureSpec.from_tags(dict(tags))
    return LoadedModel(name, version, alias, spec, predict, datetime.now(UTC), feature_spec)


def scorer(model, spec: InputSpec | None) -> Callable:
    """`model.predict`, without MLflow's second schema enforcement where that is safe.

    The server has already checked the batch against the signature and built the frame with the
    signature's dtypes. For a Python model (`unwrap_python_model`) that takes a pandas DataFrame,
    with a plain column signature and no params, it calls the model's own `predict` directly
    (roughly a quarter of the time of a single-row prediction); anything else goes through
    `model.predict`.
    """
    import pandas as pd
    from mlflow.exceptions import MlflowException

    if spec is None or not all(t in KNOWN_TYPES for t in spec.types.values()):
        return model.predict
    if model.metadata.get_params_schema() is not None:
        return model.predict
    try:
        python_model = model.unwrap_python_model()
    except MlflowException:  # another flavor (sklearn, ...): its predict is the public path
        return model.predict
    try:
        hints = typing.get_type_hints(python_model.predict)
    except Exception:  # noqa: BLE001 - hints that do not resolve: take the documented path
        return model.predict
    if hints.get("model_input") is not pd.DataFrame:
        return model.predict
    # MLflow's own example calls an unwrapped model with None for the context
    return lambda frame: python_model.predict(None, frame)


def _warm_up(predict: Callable, spec: InputSpec | None) -> None:
    """Score one row of zeros so the first request does not pay for lazy initialisation."""
    import pandas as pd

    numeric = ("double", "float", "long", "integer")
    if spec is None or any(spec.types.get(c) not in numeric for c in spec.columns):
        return
    try:
        predict(
            pd.DataFrame({c: [0.0 if spec.types[c] in numeric[:2] else 0] for c in spec.columns})
        )
    except Exception as err:  # noqa: BLE001 (only a warm-up: requests will show real errors)
        log.info("warm-up prediction failed: %s", err)


class ModelHolder:
    """Holds the version an alias points to and follows the alias as it moves."""

    def __init__(
        self,
        settings: Settings,
        poll_seconds: float = 5.0,
        *,
        name: str,
        alias: str = CHAMPION,
        loader: Callable[[str, str, str], LoadedModel] = load_version,
    ):
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.name = name
        self.alias = alias
        self.loader = loader
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = None

    def _resolve(self) -> str | None:
        """The version the alias points to now (None when there is no such alias or model)."""
        from mlflow.exceptions import MlflowException

        if self._client is None:
            import mlflow
            from mlflow import MlflowClient

            uri = self.settings.tracking_uri
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            return str(self._client.get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as err:
            if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code) or "not found" in str(err):
                return None
            raise

    def refresh(self) -> bool:
        """Follow the alias once; True when another version was loaded and published.

        A failure (store unreachable, model that does not load) keeps the current version and is
        kept in `last_error`; the next poll tries again.
        """
        try:
            version = self._resolve()
            current = self.current
            if version is None or (current is not None and current.version == version):
                self.last_error = None
                return False
            loaded = self.loader(self.name, version, self.alias)
        except Exception as err:  # noqa: BLE001 (keep serving the version we have)
            self.last_error = f"{type(err).__name__}: {err}"
            log.warning("could not follow %s@%s: %s", self.name, self.alias, self.last_error)
            return False
        before = current.version if current else None
        self.current = loaded
        self.last_error = None
        log.info("serving %s version %s (was %s)", self.name, loaded.version, before)
        return True

    def start(self) -> None:
        """Poll the alias in a daemon thread until `stop`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll, name="champion-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_seconds + 30)
