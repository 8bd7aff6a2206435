"""Point-in-time training sets against a hand-computed oracle (a late event, a label between two
feature rows, a label at a row's exact time, lookback windows, no row before the label)."""

from datetime import datetime, timedelta

import polars as pl
import pytest
from customer_churn.churn_training_set import build, clean_labels, write
from customer_churn.feature_assets import history_store, silver_store
from customer_churn.history import series_spec
from customer_churn.models import CHURN
from deltalake import write_deltalake

from mlplatform.feature_store.timeseries import refresh_series
from mlplatform.feature_store.training_set import FeatureLookup, create_training_set
from mlplatform.settings import get_settings
from mlplatform.training.data import load_model_data
from tests.feature_store_data import append_silver, events

TABLE = "gold/customer_ml_features_history"
SILVER = events(
    ("a", "purchase", 10.0, "2026-10-01T10:00:00"),
    ("a", "login", 30.0, "2026-10-03T05:00:00"),
    ("b", "page_view", 4.0, "2026-10-02T09:00:00"),
)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    s = get_settings()
    append_silver(s, SILVER)
    refresh(s)
    return s


def refresh(settings):
    stores = history_store(settings), silver_store(settings)
    return refresh_series(*stores, series_spec("1 day"), checkpoints=settings.checkpoints)


def labels(*rows):
    return pl.DataFrame(
        [(c, datetime.fromisoformat(t), y) for c, t, y in rows],
        schema={"customer_id": pl.String, "label_timestamp": pl.Datetime("us"), "churned": pl.Int8},
        orient="row",
    )


LABELS = labels(
    ("a", "2026-10-03T12:00:00", 1),  # between a's rows of 10-02 and 10-04: the 10-02 row
    ("a", "2026-10-04T00:00:00", 0),  # exactly at the 10-04 row: that row (<=)
    ("a", "2026-10-01T20:00:00", 1),  # before a's first row: null features
    ("c", "2026-10-05T00:00:00", 0),  # no rows at all: null features
    ("b", "2026-10-10T00:00:00", 1),  # long after b's only row
)


def lookup(**kwargs):
    return FeatureLookup(
        table=TABLE,
        lookup_key="customer_id",
        timestamp_lookup_key="label_timestamp",
        feature_names=["total_events", "total_spend", "last_event_at"],
        **kwargs,
    )


def test_as_of_join_matches_the_oracle_and_keeps_label_order(settings):
    ts = create_training_set(LABELS, [lookup()], label="churned")
    out = ts.load_df()
    assert out.columns == [
        "customer_id",
        "label_timestamp",
        "churned",
        "feature_timestamp",
        "total_events",
        "total_spend",
        "last_event_at",
    ]
    assert out.select("customer_id", "feature_timestamp", "total_events", "total_spend").rows() == [
        ("a", datetime(2026, 10, 2), 1, 10.0),
        ("a", datetime(2026, 10, 4), 2, 40.0),
        ("a", None, None, None),
        ("c", None, None, None),
        ("b", datetime(2026, 10, 3), 1, 4.0),
    ]
    assert ts.null_feature_rows() == 2
    assert ts.versions == {TABLE: 0}


def test_lookback_window_is_inclusive(settings):
    at_bound = labels(("a", "2026-10-03T00:00:00", 1), ("a", "2026-10-03T00:00:01", 1))
    out = create_training_set(
        at_bound, [lookup(lookback_window=timedelta(days=1))], label="churned"
    ).load_df()
    assert out["feature_timestamp"].to_list() == [datetime(2026, 10, 2), None]
    assert out["total_events"].to_list() == [1, None]


def test_a_late_event_reaches_only_the_labels_after_it(settings):
    append_silver(
        settings,
        events(
            ("a", "page_view", 2.0, "2026-10-02T08:00:00"),  # late, before the 10-03 label
            ("a", "page_view", 3.0, "2026-10-03T13:00:00"),  # after the 10-03 12:00 label
        ),
    )
    assert refresh(settings).mode == "incremental"
    out = create_training_set(LABELS.head(2), [lookup()], label="churned").load_df()
    assert out.select("feature_timestamp", "total_events", "total_spend").rows() == [
        (datetime(2026, 10, 3), 2, 12.0),
        (datetime(2026, 10, 4), 4, 45.0),
    ]
    assert out["last_event_at"].to_list() == [
        datetime(2026, 10, 2, 8),
        datetime(2026, 10, 3, 13),
    ]


def test_lookups_that_do_not_fit_are_refused(settings):
    with pytest.raises(ValueError, match="has no feature"):
        bad = FeatureLookup(TABLE, "customer_id", "label_timestamp", ["age"])
        create_training_set(LABELS, [bad], label="churned")
    with pytest.raises(ValueError, match="give timestamp_lookup_key"):
        create_training_set(LABELS, [FeatureLookup(TABLE, "customer_id")], label="churned")
    with pytest.raises(ValueError, match="no column 'label'"):
        create_training_set(LABELS, [lookup()], label="label")
    aware = LABELS.with_columns(pl.col("label_timestamp").dt.replace_time_zone("UTC"))
    with pytest.raises(ValueError, match="naive UTC timestamp"):
        create_training_set(aware, [lookup()], label="churned")
    with pytest.raises(KeyError, match="not a declared feature table"):
        create_training_set(LABELS, [FeatureLookup("gold/x", "customer_id")], label="churned")


def test_churn_training_set_measures_recency_at_the_label_time(settings):
    raw = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", None, "b"],
            "churned": ["1", "0", "1", "1", "yes"],
            "label_timestamp": [
                "2026-10-03T12:00:00",
                "2026-10-04T00:00:00",
                "2026-10-10T00:00:00",
                "2026-10-10T00:00:00",
                "2026-10-10T00:00:00",
            ],
        }
    )
    assert clean_labels(raw).height == 3
    write_deltalake(str(settings.table_path("bronze", "raw_customer_labels")), raw.to_arrow())
    built = build(settings)
    assert built.counts == {
        "label_rows_read": 5,
        "label_rows_invalid": 2,
        "rows": 3,
        "customers": 2,
        "null_feature_rows": 0,
    }
    frame = built.frame
    assert "last_event_at" not in frame.columns
    # a at 10-03 12:00: last event 10-01 10:00 -> 2 days 2 hours; b: 10-02 09:00 -> 7.625 days
    assert frame["recency_days"].to_list() == pytest.approx([2 + 2 / 24, 19 / 24, 7.625])
    assert built.spec.table == TABLE and built.spec.table_version == 0
    assert built.spec.derived == {"recency_days": "last_event_at"}
    version = write(settings, built)
    data = load_model_data(settings, CHURN)
    assert data.versions == {
        "ml/churn_training_set": version,
        TABLE: 0,
        "bronze/raw_customer_labels": 0,
    }
    assert data.counts["label_rows"] == 3 and data.as_of == datetime(2026, 10, 10)
    x, y = data.xy(holdout=False)
    assert len(x) == len(y) == data.counts["train_rows"]
