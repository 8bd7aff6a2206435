"""The embedded MLflow store, created atomically.

MLflow creates a sqlite store by running its schema migrations in place; a process killed in the
middle leaves a half-migrated database that every later run refuses ("table ... already exists").
The embedded store is therefore migrated in a temporary file and linked into place in one step.
"""

from __future__ import annotations

import os

from mlplatform.settings import Settings


def ensure_embedded_store(settings: Settings) -> None:
    """Create `$MLPLATFORM_HOME/mlflow/mlflow.db` if missing (no-op with MLFLOW_TRACKING_URI)."""
    if settings.tracking_uri_override:
        return
    db = settings.mlflow_dir / "mlflow.db"
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".mlflow.db.init-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{tmp}", settings.artifact_location)
    store.engine.dispose()
    try:
        os.link(tmp, db)  # atomic, and never replaces a store another process created meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
