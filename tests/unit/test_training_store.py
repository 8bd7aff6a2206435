"""The embedded MLflow store is created in one step: a half-migrated database never appears."""

import sqlite3

from mlplatform.settings import get_settings
from mlplatform.training.registry import client
from mlplatform.training.store import ensure_embedded_store


def test_store_is_migrated_aside_and_linked_into_place(home):
    settings = get_settings()
    leftover = settings.mlflow_dir / ".mlflow.db.init-999999"  # from a process killed mid-way
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a database")
    ensure_embedded_store(settings)
    db = settings.mlflow_dir / "mlflow.db"
    tables = {r[0] for r in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert {"experiments", "registered_models", "alembic_version"} <= tables
    assert [
        p.name
        for p in settings.mlflow_dir.iterdir()
        if p.name.startswith(".mlflow.db.init-") and p != leftover
    ] == []
    client(settings).create_registered_model("churn_predictor")
    ensure_embedded_store(settings)  # an existing store is left alone
    assert client(settings).get_registered_model("churn_predictor").name == "churn_predictor"
