"""The model-input rule shared by training and serving."""

from datetime import datetime

import pandas as pd
import polars as pl
import pytest
from customer_churn.tables import FEATURES, GOLD_NUMERIC_FEATURES, RECENCY

from mlplatform.customers.model_input import default_as_of, features_for_scoring, parse_as_of
from mlplatform.training import feature_selection


def validate_features(features):
    return feature_selection.validate_features(features, FEATURES)


AS_OF = datetime(2026, 11, 1)


def gold_rows(**overrides) -> pl.DataFrame:
    row = {name: 1 for name in GOLD_NUMERIC_FEATURES}
    row |= {"customer_id": "c1", "avg_amount": 12.5, "last_event_at": datetime(2026, 10, 30, 12)}
    row |= overrides
    return pl.DataFrame([row])


def test_recency_is_days_before_as_of_and_never_negative():
    frame = pl.concat(
        [
            gold_rows(),
            gold_rows(customer_id="c2", last_event_at=datetime(2026, 11, 3)),
        ]
    )
    out = features_for_scoring(frame, AS_OF)
    assert list(out.columns) == FEATURES
    assert out[RECENCY].tolist() == [1.5, 0.0]
    assert {str(t) for t in out.dtypes} == {"float64"}


def test_pandas_input_with_iso_text_timestamps_gives_the_same_result():
    polars_out = features_for_scoring(gold_rows(), AS_OF)
    text = gold_rows().with_columns(pl.lit("2026-10-30T12:00:00").alias("last_event_at"))
    pandas_out = features_for_scoring(text.to_pandas(), "2026-11-01T00:00:00")
    pd.testing.assert_frame_equal(polars_out, pandas_out)


def test_timezone_aware_as_of_is_read_as_utc():
    assert parse_as_of("2026-11-01T01:00:00+01:00") == AS_OF


def test_precomputed_recency_is_used_when_no_timestamp():
    frame = gold_rows().drop("last_event_at").with_columns(pl.lit(3.0).alias(RECENCY))
    assert features_for_scoring(frame, AS_OF)[RECENCY].tolist() == [3.0]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"\['avg_amount', 'last_event_at'\]"):
        features_for_scoring(gold_rows().drop("avg_amount", "last_event_at"), AS_OF)


def test_feature_subset_keeps_model_order_and_rejects_unknown_names():
    assert validate_features([RECENCY, "avg_amount"]) == ["avg_amount", RECENCY]
    assert validate_features([]) == FEATURES
    with pytest.raises(ValueError, match="unknown features"):
        validate_features(["age"])
    with pytest.raises(ValueError, match="repeat"):
        validate_features(["avg_amount", "avg_amount"])


def test_default_as_of_is_latest_event():
    frame = pl.concat([gold_rows(), gold_rows(last_event_at=datetime(2026, 10, 31))])
    assert default_as_of(frame) == datetime(2026, 10, 31)
    assert default_as_of(frame.clear()) is None
