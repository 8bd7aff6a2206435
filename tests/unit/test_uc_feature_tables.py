"""Feature tables named as Unity Catalog names tables: `dev.ml.user_features` is the Delta table
at `lakehouse/dev/ml/user_features`, and a lookup by that name builds the training set."""

from datetime import datetime

import polars as pl
import pytest

from mlplatform.feature_store.table import Feature, FeatureTable, get_feature_table, register
from mlplatform.feature_store.training_set import FeatureLookup, create_training_set
from mlplatform.settings import get_settings


def features_table() -> FeatureTable:
    return FeatureTable(
        name="dev.ml.user_features",
        primary_keys=("user_id", "ts"),
        timestamp_key="ts",
        features=(Feature("visits", "bigint", "visits so far", "team:ml"),),
        description="visits per user over time",
    )


def test_a_three_level_feature_table_is_found_and_joined(home):
    table = register(features_table())
    settings = get_settings()
    assert table.name == "dev/ml/user_features"
    assert table.path(settings) == home / "lakehouse" / "dev" / "ml" / "user_features"
    assert table.asset_key.path == ["dev", "ml", "user_features"]
    assert get_feature_table("dev.ml.user_features") is table
    assert get_feature_table("dev/ml/user_features") is table

    pl.DataFrame(
        {
            "user_id": ["u", "u", "v"],
            "ts": [datetime(2026, 1, 1), datetime(2026, 1, 5), datetime(2026, 1, 2)],
            "visits": [1, 4, 7],
        }
    ).write_delta(str(table.path(settings)))
    labels = pl.DataFrame(
        {
            "user_id": ["u", "v"],
            "label_ts": [datetime(2026, 1, 3), datetime(2026, 1, 1)],
            "y": [1, 0],
        }
    )
    lookup = FeatureLookup(
        table="dev.ml.user_features", lookup_key="user_id", timestamp_lookup_key="label_ts"
    )
    found = create_training_set(labels, [lookup], label="y", settings=settings).load_df()
    assert found.select("user_id", "y", "visits").rows() == [("u", 1, 1), ("v", 0, None)]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a.b.c.d", "feature table name 'a.b.c.d': table name 'a.b.c.d' has 4 parts"),
        ("features", "feature table name 'features': table name 'features' has no schema"),
        ("a/b/c/d", "feature table name 'a/b/c/d' must be '<layer>/<table>' or"),
    ],
)
def test_bad_feature_table_names_name_the_name(name, message):
    with pytest.raises(ValueError, match=message):
        FeatureTable(name, ("k",), None, (), "")
