"""``models:/`` URIs when the registry URI is ``databricks-uc`` and mlplatform's store serves it.

MLflow hands ``models:/name@alias`` to Databricks' Unity Catalog artifact service whenever the
registry URI is ``databricks-uc``. The factory below (entry point ``mlflow.artifact_repository``
for the ``models`` scheme) resolves such URIs through mlplatform's ``databricks-uc`` store
instead: the version's download URI in the same database. Every other case is MLflow's own
``ModelsArtifactRepository``, unchanged. MLflow loads this entry point while it imports
itself, so MLflow is imported here only when a repository is built.
"""

from __future__ import annotations

from importlib.metadata import entry_points

UC_SCHEME = "databricks-uc"
STORE_ENTRY_POINT = "mlplatform.registry.uc_store:uc_registry_store"


def models_repository(artifact_uri, tracking_uri=None, registry_uri=None):
    """MLflow's ``ModelsArtifactRepository`` for ``artifact_uri``, with a ``databricks-uc``
    registry URI replaced by the database mlplatform's store keeps the registry in."""
    import mlflow
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository
    from mlflow.utils.uri import is_databricks_unity_catalog_uri

    from mlplatform.registry.uc_store import backing_uri

    registry_uri = registry_uri or mlflow.get_registry_uri()
    if is_databricks_unity_catalog_uri(registry_uri) and served_here():
        registry_uri = backing_uri(tracking_uri or mlflow.get_tracking_uri())
    return ModelsArtifactRepository(
        artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri
    )


def served_here() -> bool:
    """Whether mlplatform's store is the one MLflow builds for ``databricks-uc``: the last
    plugin registered for the scheme wins, so it must be mlplatform's."""
    found = [e for e in entry_points(group="mlflow.model_registry_store") if e.name == UC_SCHEME]
    return bool(found) and found[-1].value == STORE_ENTRY_POINT
