"""Training data: label deduplication, the stable holdout, pinned Delta versions."""

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from customer_churn.gold_source import truth_propensity
from customer_churn.labels import latest_labels
from customer_churn.models import CHURN
from deltalake import write_deltalake

from mlplatform.settings import get_settings
from mlplatform.training.data import HOLDOUT_FRACTION, in_holdout, load_model_data


def test_latest_label_per_customer_wins_and_bad_rows_are_dropped():
    raw = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", None, "d"],
            "churned": ["0", "1", " 1 ", "maybe", "1", None],
            "label_timestamp": [
                "2026-01-01T00:00:00",
                "2026-02-01T00:00:00",
                "2026-01-01T00:00:00",
                "2026-01-01T00:00:00",
                "2026-01-01T00:00:00",
                "2026-01-01T00:00:00",
            ],
        }
    )
    out = latest_labels(raw).sort("customer_id")
    assert out.to_dicts() == [
        {"customer_id": "a", "churned": 1},
        {"customer_id": "b", "churned": 1},
    ]


def test_holdout_is_stable_and_about_the_configured_fraction():
    ids = pl.Series([str(100000 + i) for i in range(20_000)])
    first, again = in_holdout(ids), in_holdout(ids.reverse())[::-1]
    assert np.array_equal(first, again)
    assert abs(first.mean() - HOLDOUT_FRACTION) < 0.01


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    return get_settings()


def write_tables(settings, n: int, mode: str = "overwrite") -> None:
    ids = [str(100000 + i) for i in range(n)]
    gold = pl.DataFrame(
        {
            "customer_id": ids,
            "total_events": list(range(1, n + 1)),
            "last_event_at": [datetime(2026, 10, 1 + i % 28) for i in range(n)],
        }
    )
    labels = pl.DataFrame(
        {
            "customer_id": ids,
            "churned": [str(i % 2) for i in range(n)],
            "label_timestamp": ["2026-12-01T00:00:00"] * n,
        }
    )
    write_deltalake(
        str(settings.table_path("gold", "customer_ml_features")), gold.to_arrow(), mode=mode
    )
    write_deltalake(
        str(settings.table_path("bronze", "raw_customer_labels")),
        labels.to_arrow(),
        mode="append" if mode == "append" else "overwrite",
    )


def test_no_tables_means_no_data(settings):
    data = load_model_data(settings, CHURN)
    assert data.empty
    assert data.counts == {"gold_customers": 0, "labelled_customers": 0}


def test_reads_current_versions_and_can_reread_a_pinned_one(settings):
    write_tables(settings, 50)
    write_tables(settings, 80)
    current = load_model_data(settings, CHURN)
    assert current.versions == {"gold/customer_ml_features": 1, "bronze/raw_customer_labels": 1}
    assert current.counts["labelled_customers"] == 80
    assert current.as_of == datetime(2026, 10, 28)
    assert current.counts["holdout_customers"] == int(current.frame["holdout"].sum()) > 0
    pinned = load_model_data(
        settings,
        CHURN,
        as_of="2026-11-01T00:00:00",
        versions={"gold/customer_ml_features": 0, "bronze/raw_customer_labels": 0},
    )
    assert pinned.counts["labelled_customers"] == 50
    assert pinned.as_of == datetime(2026, 11, 1)
    x, y = pinned.xy(holdout=False, features=["total_events", "recency_days"])
    assert list(x.columns) == ["total_events", "recency_days"] and len(x) == len(y)


def test_truth_propensity_needs_every_customer(settings):
    assert truth_propensity(settings, pl.Series(["1"])) is None
    settings.demo_dir.mkdir(parents=True)
    pl.DataFrame({"customer_id": ["1", "2"], "propensity": [0.1, 0.9]}).write_parquet(
        settings.demo_dir / "customer_truth.parquet"
    )
    assert truth_propensity(settings, pl.Series(["2", "1"])).tolist() == [0.9, 0.1]
    assert truth_propensity(settings, pl.Series(["3"])) is None
