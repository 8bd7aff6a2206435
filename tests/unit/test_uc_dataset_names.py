"""Dataset names in pipeline code follow the platform's one name rule."""

import pytest

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.dataset_names import check_dataset_name, dataset_key, resolve
from mlplatform.pipelines.api import _sink_key


def test_a_pipeline_defines_datasets_in_its_own_catalog_and_schema():
    assert check_dataset_name("orders", "sales", "dev") == "orders"
    assert check_dataset_name("sales.orders", "sales", "dev") == "orders"
    assert check_dataset_name("dev.sales.orders", "sales", "dev") == "orders"
    assert check_dataset_name("hive_metastore.sales.orders", "sales") == "orders"
    assert dataset_key("sales", "dev", "orders") == "dev/sales/orders"
    assert dataset_key("sales", None, "orders") == "sales/orders"
    assert dataset_key("sales", "hive_metastore", "orders") == "sales/orders"


@pytest.mark.parametrize(
    ("name", "catalog", "message"),
    [
        (
            "prod.sales.orders",
            "dev",
            "dataset 'prod.sales.orders': a pipeline publishes its datasets to its own catalog "
            "and schema 'dev.sales'",
        ),
        (
            "other.orders",
            None,
            "dataset 'other.orders': a pipeline publishes its datasets to its own schema 'sales'",
        ),
        ("a.b.c.d", None, "table name 'a.b.c.d' has 4 parts"),
        (
            "event_log",
            "dev",
            "dataset name 'event_log' is reserved: the pipeline writes its event "
            "log there (lakehouse/dev/sales/event_log)",
        ),
    ],
)
def test_names_a_pipeline_cannot_define(name, catalog, message):
    with pytest.raises(DltDefinitionError) as error:
        check_dataset_name(name, "sales", catalog)
    assert str(error.value).startswith(message)


def test_reads_resolve_to_datasets_or_lakehouse_tables():
    assert resolve("orders", "sales", "dev", {}) == ("dataset", "orders")
    assert resolve("LIVE.orders", "sales", "dev", {}) == ("dataset", "orders")
    assert resolve("dev.sales.orders", "sales", "dev", {}) == ("dataset", "orders")
    assert resolve("samples.nyctaxi.trips", "sales", "dev", {}) == (
        "table",
        "samples/nyctaxi/trips",
    )
    assert resolve("gold.features", "sales", "dev", {}) == ("table", "dev/gold/features")
    assert resolve("gold.features", "sales", None, {}) == ("table", "gold/features")
    assert resolve("cat.`my schema`.t", "sales", None, {}) == ("table", "cat/my schema/t")
    with pytest.raises(DltDefinitionError, match="table name 'a..b' has an empty part"):
        resolve("a..b", "sales", None, {})


def test_sink_table_names_keep_their_catalog():
    assert _sink_key("s", {"tableName": "dev.exports.orders"}, "sales") == "dev/exports/orders"
    assert _sink_key("s", {"tableName": "exports.orders"}, "sales", "dev") == "dev/exports/orders"
    assert _sink_key("s", {"tableName": "orders"}, "sales") == "sales/orders"
