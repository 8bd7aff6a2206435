"""Which load of the definitions gets which warning (real commands: test_front_door_warnings)."""

from mlplatform.front_door import load_warnings

MATERIALIZE = ["/x/.venv/bin/dagster", "asset", "materialize", "-m", "mlplatform.definitions"]


def test_a_library_import_is_never_warned_about(tmp_path):
    assert load_warnings(["/usr/bin/pytest", "-q"], {}, tmp_path / "nothing") == []


def test_dev_with_a_filled_home_and_materialize_with_an_instance_are_quiet(tmp_path):
    (tmp_path / "lakehouse" / "gold").mkdir(parents=True)
    env = {"DAGSTER_HOME": str(tmp_path / "dagster"), "MLPLATFORM_HOME": str(tmp_path)}
    assert load_warnings(MATERIALIZE, env, tmp_path) == []
    assert load_warnings(["/x/dagster", "dev"], {}, tmp_path) == []


def test_materialize_without_dagster_home_is_told_what_to_set(tmp_path):
    (tmp_path / "landing" / "customer_events").mkdir(parents=True)
    [warning] = load_warnings(MATERIALIZE, {"MLPLATFORM_HOME": str(tmp_path)}, tmp_path)
    assert "DAGSTER_HOME is not set" in warning
    assert warning.endswith(
        f"Set DAGSTER_HOME={tmp_path / 'dagster'} (mlplatform quickstart creates it)."
    )


def test_an_empty_landing_folder_and_a_dagster_folder_still_count_as_empty(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text("{}")
    [warning] = load_warnings(["/x/dagster", "dev"], {"MLPLATFORM_HOME": str(tmp_path)}, tmp_path)
    assert warning.startswith(f"mlplatform: warning: MLPLATFORM_HOME={tmp_path} is new and empty")
