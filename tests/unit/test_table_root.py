"""The table root (`MLPLATFORM_LAKEHOUSE`) and its options (`MLPLATFORM_STORAGE_OPTIONS`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.object_location import ObjectLocation
from mlplatform.settings import SettingsError, get_settings

OPTIONS = '{"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ALLOW_HTTP": "true"}'


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLPLATFORM_LAKEHOUSE", raising=False)
    monkeypatch.delenv("MLPLATFORM_STORAGE_OPTIONS", raising=False)


def test_by_default_the_tables_live_under_the_home(tmp_path):
    settings = get_settings()
    assert settings.lakehouse == tmp_path / "home" / "lakehouse"
    assert settings.table_path("bronze", "t") == tmp_path / "home" / "lakehouse" / "bronze" / "t"
    assert settings.checkpoints == tmp_path / "home" / "lakehouse" / "_checkpoints"
    assert settings.storage_options == {} and not settings.remote_lakehouse


def test_a_local_root_is_a_path_or_a_file_uri(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_LAKEHOUSE", (tmp_path / "shared").as_uri())
    assert get_settings().table_path("silver", "t") == tmp_path / "shared" / "silver" / "t"
    monkeypatch.setenv("MLPLATFORM_LAKEHOUSE", str(tmp_path / "other"))
    assert get_settings().lakehouse == tmp_path / "other"
    # the home's own stores stay local
    assert get_settings().dagster_home == tmp_path / "home" / "dagster"


def test_an_object_store_root_joins_uris_and_carries_the_options(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_LAKEHOUSE", "s3://bucket/lake/")
    monkeypatch.setenv("MLPLATFORM_STORAGE_OPTIONS", OPTIONS)
    settings = get_settings()
    table = settings.table_path("bronze", "raw_customer_events")
    assert isinstance(table, ObjectLocation)
    assert str(table) == "s3://bucket/lake/bronze/raw_customer_events"
    assert table.name == "raw_customer_events" and str(table.parent) == "s3://bucket/lake/bronze"
    assert str(settings.checkpoints / "bronze" / "t") == "s3://bucket/lake/_checkpoints/bronze/t"
    assert table.storage_options["AWS_ALLOW_HTTP"] == "true"
    assert "127.0.0.1" not in repr(table)  # options may hold secrets: never in a repr
    assert settings.landing == tmp_path / "home" / "landing"
    assert settings.plan_cache == tmp_path / "home" / "cache" / "plans"  # a cache stays local

    store = DeltaStore(table, "bronze/raw_customer_events")
    assert store.uri == str(table) and store.options == table.storage_options
    # text URIs (callers that only hold a string) get the settings' options too, through the
    # settings: a store never reads the environment
    assert DeltaStore(settings.location(str(table)), "x").options == table.storage_options
    assert DeltaStore(str(table), "x").options == {}
    assert DeltaStore(Path("tables/t"), "x").options is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "MLPLATFORM_STORAGE_OPTIONS is not valid JSON"),
        ('["a"]', "MLPLATFORM_STORAGE_OPTIONS must be a JSON object"),
        ('{"AWS_ALLOW_HTTP": true, "X": 1}', "the values of AWS_ALLOW_HTTP, X must be strings"),
    ],
)
def test_bad_storage_options_are_named(monkeypatch, value, message):
    monkeypatch.setenv("MLPLATFORM_STORAGE_OPTIONS", value)
    with pytest.raises(SettingsError, match=message):
        get_settings()


def test_a_secret_in_a_bad_option_is_not_echoed(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_STORAGE_OPTIONS", '{"AWS_SECRET_ACCESS_KEY": 12345}')
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert "12345" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("hdfs://nn/lake", r"MLPLATFORM_LAKEHOUSE='hdfs://nn/lake': hdfs:// is not a table root"),
        ("s3://", "MLPLATFORM_LAKEHOUSE='s3://' names no bucket"),
        ("file://otherhost/lake", "MLPLATFORM_LAKEHOUSE='file://otherhost/lake': a file:// URI"),
    ],
)
def test_bad_table_roots_are_named(monkeypatch, value, message):
    monkeypatch.setenv("MLPLATFORM_LAKEHOUSE", value)
    with pytest.raises(SettingsError, match=message):
        get_settings()


def test_an_object_store_home_points_at_the_table_root(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", "s3://bucket/mlp")
    with pytest.raises(SettingsError, match="MLPLATFORM_LAKEHOUSE"):
        get_settings()
