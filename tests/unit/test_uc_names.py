"""Names as Unity Catalog has them: parsing, resolution against defaults, lakehouse locations."""

from pathlib import Path

import pytest

from mlplatform.lakehouse.names import (
    TableName,
    TableNameError,
    parse_name,
    resolve_name,
    table_key,
    table_location,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("t", ("t",)),
        ("sch.t", ("sch", "t")),
        ("cat.sch.t", ("cat", "sch", "t")),
        ("cat.`my schema`.t", ("cat", "my schema", "t")),
        ("`a.b`.`c``d`", ("a.b", "c`d")),
        ("samples.nyctaxi.trips", ("samples", "nyctaxi", "trips")),
    ],
)
def test_parse(text, parts):
    assert parse_name(text) == parts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.b.c.d", "table name 'a.b.c.d' has 4 parts; a name is table, schema.table or "),
        ("a..b", "table name 'a..b' has an empty part"),
        ("", "table name '' has an empty part"),
        ("cat.sch.", "table name 'cat.sch.' has an empty part"),
        ("a/b", "table name 'a/b': part 'a/b' would leave its folder"),
        ("cat.`..`.t", r"table name 'cat.`..`.t': part '..' would leave its folder"),
        ("`x\\y`", "table name '`x\\\\y`': part 'x\\\\y' would leave its folder"),
        ("cat.`open", "table name 'cat.`open': unclosed backquote"),
        ("my table", "table name 'my table': spaces need backquotes"),
        ("`a`b", "table name '`a`b': text after a backquoted part"),
    ],
)
def test_invalid_names_name_the_name(text, message):
    with pytest.raises(TableNameError) as error:
        parse_name(text)
    assert str(error.value).startswith(message)


def test_resolution_follows_databricks():
    assert resolve_name("t", "dev", "ml") == TableName("dev", "ml", "t")
    assert resolve_name("sales.t", "dev", "ml") == TableName("dev", "sales", "t")
    assert resolve_name("prod.sales.t", "dev", "ml") == TableName("prod", "sales", "t")
    assert resolve_name("sales.t") == TableName(None, "sales", "t")
    assert resolve_name("t", None, "ml") == TableName(None, "ml", "t")
    assert resolve_name("hive_metastore.sales.t", "dev") == TableName(None, "sales", "t")
    assert resolve_name("t", "hive_metastore", "ml") == TableName(None, "ml", "t")
    with pytest.raises(TableNameError, match="table name 't' has no schema and no default"):
        resolve_name("t", "dev")


def test_mapping_to_the_lakehouse():
    root = Path("/lake")
    assert table_location(root, "samples.nyctaxi.trips") == Path("/lake/samples/nyctaxi/trips")
    assert table_location(root, "t", "dev", "ml") == Path("/lake/dev/ml/t")
    assert table_location(root, "silver.cleaned_events") == Path("/lake/silver/cleaned_events")
    assert table_location(root, "hive_metastore.silver.x") == Path("/lake/silver/x")
    assert table_location(root, "cat.`my schema`.t") == Path("/lake/cat/my schema/t")
    assert table_key("dev.ml.features") == "dev/ml/features"
    assert table_key("features", schema="gold") == "gold/features"


def test_full_name_quotes_what_needs_it():
    assert str(resolve_name("cat.`my schema`.t")) == "cat.`my schema`.t"
    assert str(resolve_name("sales.t")) == "sales.t"
    assert resolve_name("a.b.c").parts == ("a", "b", "c")


def test_a_default_catalog_is_checked_too():
    with pytest.raises(TableNameError, match="would leave its folder"):
        resolve_name("t", "../x", "s")
