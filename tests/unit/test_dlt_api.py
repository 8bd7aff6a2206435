"""`from mlplatform import dlt`: loading a DLT file, its graph, and clear errors."""

import runpy
import textwrap

import dagster as dg
import pytest

from mlplatform import dlt
from mlplatform.dlt.pipeline import DEFS_NAME

PIPELINE = """
from mlplatform import dlt

SOURCE = "landing/orders"

@dlt.table(comment="raw", table_properties={"quality": "bronze"})
def raw_orders():
    return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(SOURCE)

@dlt.view
def valid_orders():
    return dlt.read_stream("raw_orders").where("amount > 0")

@dlt.table
@dlt.expect_or_drop("has_id", "id IS NOT NULL")
def orders():
    return dlt.read_stream("LIVE.valid_orders")

@dlt.table
def totals():
    return dlt.read("orders").groupBy("id").count()
"""


def load(tmp_path, text, name="shop"):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return runpy.run_path(str(path))


def test_a_dlt_file_becomes_definitions_under_its_schema(tmp_path):
    module = load(tmp_path, PIPELINE)
    defs = module[DEFS_NAME]
    assert isinstance(defs, dg.Definitions)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    # the view is not stored; every pipeline has its event log (written by its updates)
    assert keys == {"shop/raw_orders", "shop/orders", "shop/totals", "shop/event_log"}
    deps = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    assert deps == {
        "shop/event_log": set(),
        "shop/raw_orders": set(),
        "shop/orders": {"shop/raw_orders"},
        "shop/totals": {"shop/orders"},
    }
    checks = {k.name for k in graph.asset_check_keys}
    assert checks == {"has_id", "freshness", "completeness"}  # the last two: table quality
    quality = {
        k.asset_key.to_user_string() for k in graph.asset_check_keys if k.name == "freshness"
    }
    assert quality == keys - {"shop/event_log"}  # the log is written by updates, not an asset run
    assert repr(module["spark"]) == "<mlplatform lazy spark session proxy>"


def test_reading_an_undefined_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(dlt.DltDefinitionError, match="reads 'nope', which this pipeline"):
        load(
            tmp_path,
            """
        from mlplatform import dlt

        @dlt.table
        def t():
            return dlt.read("nope")
        """,
        )


def test_a_computed_dataset_name_is_refused(tmp_path):
    with pytest.raises(dlt.DltDefinitionError, match="string literal or a module-level constant"):
        load(
            tmp_path,
            """
        from mlplatform import dlt

        @dlt.table
        def a():
            return spark.range(3)

        @dlt.table
        def t():
            name = "a"
            return dlt.read(name)
        """,
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dlt.apply_changes_from_snapshot(target="t", keys=["k"]), "give either source="),
        (lambda: dlt.on_event_hook(42), "on_event_hook decorates a function"),
        (lambda: dlt.table(partition_cols=["a"])(lambda: None), r"table\(partition_cols=...\)"),
        (lambda: dlt.append_flow(target="t", once=True), r"append_flow\(once=True\)"),
        (lambda: dlt.expect("r", object()), "pass the condition as a SQL string"),
    ],
)
def test_unsupported_parts_of_the_api_say_so(call, message):
    with pytest.raises(dlt.DltDefinitionError, match=message):
        call()


def test_unsupported_apply_changes_options_name_the_option(tmp_path):
    with pytest.raises(dlt.DltDefinitionError, match=r"apply_changes\(where=...\)"):
        load(
            tmp_path,
            """
        from mlplatform import dlt
        dlt.create_streaming_table("t")
        dlt.apply_changes(target="t", source="s", keys=["id"], sequence_by="ts", where="id > 0")
        """,
        )


def test_unsupported_cloud_files_format_is_refused_at_load(tmp_path):
    with pytest.raises(dlt.DltDefinitionError, match="cloudFiles.format 'csv' is not supported"):
        load(
            tmp_path,
            """
        from mlplatform import dlt

        @dlt.table
        def t():
            return (spark.readStream.format("cloudFiles")
                    .option("cloudFiles.format", "csv").load("x"))
        """,
        )


def test_deprecated_aliases_still_work(tmp_path):
    module = load(
        tmp_path,
        """
    import warnings
    from mlplatform import dlt
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dlt.create_target_table("t")
    messages = [str(w.message) for w in caught]
    """,
    )
    assert module["messages"] == [
        "dlt.create_target_table is deprecated; use dlt.create_streaming_table"
    ]
    assert dlt.readStream is dlt.read_stream


def test_read_outside_an_update_is_a_clear_error():
    with pytest.raises(dlt.DltRuntimeError, match="inside a dataset's query function"):
        dlt.read("x")


def test_a_file_builds_its_definitions_once_after_its_last_declaration(tmp_path, monkeypatch):
    from mlplatform.dlt.pipeline import Pipeline

    built = []
    real = Pipeline.definitions

    def counting(pipeline):
        built.append(sorted(pipeline.datasets))
        return real(pipeline)

    monkeypatch.setattr(Pipeline, "definitions", counting)
    tables = "\n".join(
        f"@dlt.table\n@dlt.expect('positive', 'n > 0')\ndef t{i}():\n"
        f"    return dlt.read('t{i - 1}')\n"
        for i in range(1, 20)
    )
    module = load(
        tmp_path,
        "from mlplatform import dlt\n\n@dlt.table\ndef t0():\n    return spark.range(3)\n\n"
        + tables,
        name="chain",
    )
    assert built == [sorted(f"t{i}" for i in range(20))]  # once, with every dataset
    graph = module[DEFS_NAME].resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {f"chain/t{i}" for i in range(20)} | {"chain/event_log"}
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["chain", "t19"])).parent_keys}
    assert parents == {"chain/t18"}
    assert {k.name for k in graph.asset_check_keys} == {"positive", "freshness", "completeness"}


def test_a_file_that_raises_keeps_its_own_error_and_builds_nothing(tmp_path, monkeypatch):
    from mlplatform.dlt.pipeline import Pipeline

    built = []
    monkeypatch.setattr(Pipeline, "definitions", built.append)
    with pytest.raises(ZeroDivisionError):
        load(
            tmp_path,
            """
        from mlplatform import dlt

        @dlt.table
        def t():
            return dlt.read("nope")  # an error the build would report

        1 / 0
        """,
        )
    assert built == []


def test_a_module_imported_by_dagster_has_its_definitions(tmp_path):
    import importlib.util
    import sys

    path = tmp_path / "imported_shop.py"
    later = """
def declare_later():
    @dlt.table
    def extra():
        return dlt.read("totals")
"""
    path.write_text(textwrap.dedent(PIPELINE) + later)
    spec = importlib.util.spec_from_file_location("imported_shop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as `dagster ... -f` loads a file
    keys = {k.to_user_string() for k in getattr(module, DEFS_NAME).resolve_all_asset_keys()}
    assert keys == {f"imported_shop/{n}" for n in ("raw_orders", "orders", "totals", "event_log")}
    assert sys.getprofile() is None  # the load hook is gone

    module.declare_later()  # a declaration after the load rebuilds them at once
    keys = {k.to_user_string() for k in getattr(module, DEFS_NAME).resolve_all_asset_keys()}
    assert "imported_shop/extra" in keys
    assert len(keys) == 5
