"""Where the Spark engine runs: the settings a Connect session gets, the code shipped to the
executors, the error for executors that lack a module, and a data home given as a URI."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from mlplatform.lakehouse.engines.spark_executors import (
    ExecutorEnvironmentError,
    executor_import_error,
    mlplatform_zip,
)
from mlplatform.lakehouse.engines.spark_session import spark_config
from mlplatform.settings import SettingsError, get_settings


def test_a_remote_gets_only_runtime_settings_and_wins_over_a_master(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_SPARK_MASTER", "spark://127.0.0.1:7077")
    monkeypatch.setenv("MLPLATFORM_SPARK_REMOTE", "sc://127.0.0.1:15002")
    config = spark_config()
    assert config.pop("spark.remote") == "sc://127.0.0.1:15002"
    assert config and all(key.startswith("spark.sql.") for key in config)
    assert config["spark.sql.ansi.enabled"] == "false"
    assert config["spark.sql.session.timeZone"] == "UTC"


def test_local_two_stays_the_default(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_SPARK_MASTER", raising=False)
    monkeypatch.delenv("MLPLATFORM_SPARK_REMOTE", raising=False)
    config = spark_config()
    assert config["spark.master"] == "local[2]" and "spark.remote" not in config
    assert config["spark.sql.ansi.enabled"] == "false"


def test_the_shipped_zip_imports_the_parser_without_site_packages(tmp_path):
    zipped = mlplatform_zip()
    names = zipfile.ZipFile(zipped).namelist()
    assert "mlplatform/lakehouse/json_lines.py" in names
    assert "mlplatform/lakehouse/__init__.py" in names  # zipimport has no namespace packages
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import mlplatform.lakehouse.failpoints as f; print(f.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(zipped)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: only the zip has mlplatform
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(zipped))
    assert mlplatform_zip() == zipped  # built once per content


def test_a_module_missing_on_the_executors_is_named():
    worker = RuntimeError(
        "PythonException: An exception was thrown from the Python worker. Traceback: ...\n"
        "ModuleNotFoundError: No module named 'pyarrow'"
    )
    err = executor_import_error(worker)
    assert isinstance(err, ExecutorEnvironmentError)
    assert str(err).startswith("the Spark executors' Python cannot import 'pyarrow'")
    assert "polars==2.1.0, pyarrow==25.0.1" in str(err) and "PYSPARK_PYTHON" in str(err)
    assert executor_import_error(RuntimeError("division by zero")) is None


def test_the_data_home_may_be_a_file_uri(monkeypatch, tmp_path):
    folder = tmp_path / "shared home"
    monkeypatch.setenv("MLPLATFORM_HOME", folder.as_uri())
    assert get_settings().home == folder
    assert get_settings().table_path("bronze", "t") == folder / "lakehouse" / "bronze" / "t"


@pytest.mark.parametrize("value", ["s3://bucket/mlp", "file://otherhost/mlp"])
def test_a_home_that_is_not_a_local_folder_is_refused(monkeypatch, value):
    monkeypatch.setenv("MLPLATFORM_HOME", value)
    with pytest.raises(SettingsError, match="MLPLATFORM_HOME="):
        get_settings()
