"""The ``databricks-uc`` registry store: MLflow's SQL registry with Unity Catalog's semantics.

Where Unity Catalog's registry differs from MLflow's SQL store, code written for Databricks
expects Unity Catalog's behaviour, and gets it here:

- names are three-level, ``catalog.schema.model`` (parsed with the platform's one name rule;
  a shorter name is refused with the name in the message);
- a version is a string (``"1"``) and its ``description`` is ``""`` when unset, not ``None``;
- stages do not exist: ``transition_model_version_stage`` and ``get_latest_versions`` raise, as
  Unity Catalog does; aliases (``models:/name@alias``) are the way to point at a version.

The store keeps its rows in the database of the tracking store (``MLFLOW_TRACKING_URI`` when
it is a database URI, else mlplatform's sqlite store under ``$MLPLATFORM_HOME/mlflow``), so runs,
logged models and registered models live together as they do without the ``databricks-uc`` URI.
"""

from __future__ import annotations

import threading

from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

from mlplatform.lakehouse.names import TableNameError, parse_name

UC_SCHEME = "databricks-uc"
_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_STORES: dict[str, UcRegistryStore] = {}
_LOCK = threading.Lock()


class UcRegistryError(MlflowException):
    """What Unity Catalog's registry refuses (stages, names that are not three-level)."""

    def __init__(self, message: str):
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


def check_model_name(name: str) -> str:
    """``name`` when it is ``catalog.schema.model``; a clear error naming it otherwise."""
    try:
        parts = parse_name(name)
    except TableNameError as err:
        raise UcRegistryError(f"registered model name {name!r}: {err}") from err
    if len(parts) != 3:
        raise UcRegistryError(
            f"registered model name {name!r} is not three-level: models in Unity Catalog are "
            "named catalog.schema.model (e.g. 'dev.ml.my_model')"
        )
    return name


def _uc_version(mv: ModelVersion | None) -> ModelVersion | None:
    """The model version as Unity Catalog returns it: string version, ``""`` description."""
    if mv is None:
        return mv
    return ModelVersion(
        name=mv.name,
        version=str(mv.version),  # Unity Catalog's versions are strings
        creation_timestamp=mv.creation_timestamp,
        last_updated_timestamp=mv.last_updated_timestamp,
        description=mv.description or "",
        user_id=mv.user_id,
        current_stage=mv.current_stage,
        source=mv.source,
        run_id=mv.run_id,
        status=mv.status,
        status_message=mv.status_message,
        tags=[ModelVersionTag(k, v) for k, v in mv.tags.items()],
        run_link=mv.run_link,
        aliases=list(mv.aliases),
        model_id=mv.model_id,
        params=mv.params,
        metrics=mv.metrics,
        deployment_job_state=mv.deployment_job_state,
        workspace=mv.workspace,
    )


def _uc_model(rm):
    if rm is None:
        return rm
    if rm.description is None:
        rm.description = ""
    return rm


def _int(version) -> int:
    try:
        return int(version)
    except (TypeError, ValueError) as err:
        raise UcRegistryError(f"model version {version!r} is not a version number") from err


class UcRegistryStore(SqlAlchemyStore):
    """MLflow's SQL registry store, answering as Unity Catalog's registry does."""

    # ---- names ---------------------------------------------------------------------------
    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        check_model_name(name)
        return _uc_model(super().create_registered_model(name, tags, description))

    def rename_registered_model(self, name, new_name):
        check_model_name(new_name)
        return _uc_model(super().rename_registered_model(name, new_name))

    def update_registered_model(self, name, description, deployment_job_id=None):
        return _uc_model(super().update_registered_model(name, description))

    def get_registered_model(self, name):
        return _uc_model(super().get_registered_model(name))

    def search_registered_models(self, *args, **kwargs):
        found = super().search_registered_models(*args, **kwargs)
        return PagedList([_uc_model(m) for m in found], found.token)

    # ---- versions ------------------------------------------------------------------------
    def create_model_version(self, name, source, *args, **kwargs):
        check_model_name(name)
        return _uc_version(super().create_model_version(name, source, *args, **kwargs))

    def update_model_version(self, name, version, description):
        return _uc_version(super().update_model_version(name, _int(version), description))

    def delete_model_version(self, name, version):
        return super().delete_model_version(name, _int(version))

    def get_model_version(self, name, version):
        return _uc_version(super().get_model_version(name, _int(version)))

    def get_model_version_download_uri(self, name, version):
        return super().get_model_version_download_uri(name, _int(version))

    def search_model_versions(self, *args, **kwargs):
        found = super().search_model_versions(*args, **kwargs)
        return PagedList([_uc_version(v) for v in found], found.token)

    def set_model_version_tag(self, name, version, tag):
        return super().set_model_version_tag(name, _int(version), tag)

    def delete_model_version_tag(self, name, version, key):
        return super().delete_model_version_tag(name, _int(version), key)

    def set_registered_model_alias(self, name, alias, version):
        return super().set_registered_model_alias(name, alias, _int(version))

    def get_model_version_by_alias(self, name, alias):
        return _uc_version(super().get_model_version_by_alias(name, alias))

    # ---- stages do not exist -------------------------------------------------------------
    def transition_model_version_stage(self, name, version, stage, archive_existing_versions):
        raise UcRegistryError(
            f"transition_model_version_stage({name!r}, {version!r}, {stage!r}): model stages "
            "are not supported in Unity Catalog; use aliases (set_registered_model_alias) "
            "and load 'models:/<name>@<alias>'"
        )

    def get_latest_versions(self, name, stages=None):
        raise UcRegistryError(
            f"get_latest_versions({name!r}): stages are not supported in Unity Catalog; "
            "use get_model_version_by_alias or search_model_versions"
        )


def backing_uri(tracking_uri: str | None) -> str:
    """The database the ``databricks-uc`` registry keeps its rows in: the tracking URI when it
    is a database, else mlplatform's own store."""
    if tracking_uri and tracking_uri.split(":", 1)[0].split("+")[0] in _DB_SCHEMES:
        return tracking_uri
    from mlplatform.settings import get_settings

    return get_settings().tracking_uri


def uc_registry_store(store_uri: str | None = None, tracking_uri: str | None = None, **_):
    """The store builder MLflow calls for a ``databricks-uc`` registry URI (entry point
    ``mlflow.model_registry_store``); one store per database, per process."""
    db_uri = backing_uri(tracking_uri)
    with _LOCK:
        store = _STORES.get(db_uri)
        if store is None:
            store = _STORES[db_uri] = UcRegistryStore(db_uri)
    return store
