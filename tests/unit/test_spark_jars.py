"""The jars of Delta Lake's Spark connector: the pom matches the pinned packages, the cache
folder, the session settings, and the errors of a fetch that cannot run."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pyspark
import pytest

from mlplatform.lakehouse.engines.spark_jars import (
    DELTA_CATALOG,
    DELTA_EXTENSION,
    MANIFEST,
    SparkJarsError,
    cache_root,
    connect_server_args,
    fetch_jars,
    jar_paths,
    jars_folder,
    pom_path,
    session_jars,
    versions,
    with_delta,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_pom_is_the_repositorys():
    assert pom_path().read_bytes() == (ROOT / "jars" / "pom.xml").read_bytes(), (
        "copy jars/pom.xml over mlplatform/templates/jars/pom.xml (or the other way)"
    )


def test_the_pom_matches_the_pinned_python_packages():
    v = versions()
    # the Python API (delta.tables) and the jars are one release
    assert v["delta.version"] == version("delta-spark")
    # hadoop-aws must be the Hadoop of pyspark's own hadoop-client jars
    jars = Path(pyspark.__file__).parent / "jars"
    assert (jars / f"hadoop-client-api-{v['hadoop.version']}.jar").is_file()
    assert pyspark.__version__ == "4.2.0"  # what delta-spark 4.4.0 is built for


def test_cache_folder_is_the_setting_else_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("MLPLATFORM_SPARK_JARS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "mlplatform" / "spark-jars"
    monkeypatch.setenv("MLPLATFORM_SPARK_JARS", str(tmp_path / "jars"))
    assert cache_root() == tmp_path / "jars"
    folder = jars_folder()
    assert folder.parent == tmp_path / "jars"
    assert folder.name.startswith(f"delta-{versions()['delta.version']}_hadoop-")
    # another pom (same versions, other text) gets another folder
    other = tmp_path / "pom.xml"
    other.write_text(pom_path().read_text() + "<!-- changed -->\n")
    assert jars_folder(other) != folder
    assert jars_folder(other).name.rsplit("_", 1)[0] == folder.name.rsplit("_", 1)[0]


def test_jar_paths_only_for_a_complete_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_SPARK_JARS", str(tmp_path))
    folder = jars_folder()
    assert jar_paths() is None  # never fetched
    folder.mkdir()
    (folder / "a.jar").write_text("a")
    assert jar_paths() is None  # no manifest: a fetch did not finish
    (folder / MANIFEST).write_text("a.jar\nb.jar\n")
    assert jar_paths() is None  # a listed jar is missing
    (folder / "b.jar").write_text("b")
    assert jar_paths() == [folder / "a.jar", folder / "b.jar"]
    # a complete folder is not fetched again (no Maven needed)
    assert fetch_jars(mvn="no-such-maven") == [folder / "a.jar", folder / "b.jar"]


def test_fetch_without_maven_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_SPARK_JARS", str(tmp_path))
    with pytest.raises(SparkJarsError) as err:
        fetch_jars(mvn="no-such-maven")
    assert str(err.value) == (
        "cannot fetch Delta Lake's Spark jars: 'no-such-maven' (Apache Maven) is not on the "
        "PATH; install it (Debian: apt-get install maven) and run `mlplatform spark fetch-jars`"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failing_maven_leaves_no_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLATFORM_SPARK_JARS", str(tmp_path / "cache"))
    broken = tmp_path / "pom.xml"
    # a model version Maven refuses before it reaches any repository
    text = pom_path().read_text()
    broken.write_text(text.replace("<modelVersion>4.0.0<", "<modelVersion>9.9.9<"))
    failed = r"mvn failed \(1\) fetching the jars of .*pom\.xml"
    with pytest.raises(SparkJarsError, match=failed) as err:
        fetch_jars(broken)
    assert "9.9.9" in str(err.value)  # Maven's own words, in the error
    assert list((tmp_path / "cache").iterdir()) == []


def test_delta_settings_join_what_the_config_names():
    jars = [Path("/j/a.jar"), Path("/j/b.jar")]
    assert with_delta({}, jars) == {
        "spark.jars": "/j/a.jar,/j/b.jar",
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.databricks.delta.formatCheck.enabled": "false",
        "spark.mlplatform.engine.deltaWrites": "files",
    }
    mine = {
        "spark.jars": "/x/mine.jar",
        "spark.sql.extensions": "my.Extension",
        "spark.sql.catalog.spark_catalog": "my.Catalog",
        "spark.master": "local[1]",
    }
    assert with_delta(mine, jars) == {
        "spark.jars": "/x/mine.jar,/j/a.jar,/j/b.jar",
        "spark.sql.extensions": f"my.Extension,{DELTA_EXTENSION}",
        "spark.sql.catalog.spark_catalog": "my.Catalog",
        "spark.master": "local[1]",
        "spark.databricks.delta.formatCheck.enabled": "false",
        "spark.mlplatform.engine.deltaWrites": "files",
    }
    # already there: not twice
    assert with_delta(with_delta({}, jars), jars) == with_delta({}, jars)
    assert connect_server_args(jars) == [
        "--jars",
        "/j/a.jar,/j/b.jar",
        "--conf",
        f"spark.sql.extensions={DELTA_EXTENSION}",
        "--conf",
        f"spark.sql.catalog.spark_catalog={DELTA_CATALOG}",
        "--conf",
        "spark.databricks.delta.formatCheck.enabled=false",
        "--conf",
        "spark.mlplatform.engine.deltaWrites=files",
    ]


def test_hadoop_aws_and_its_sdk_only_for_an_s3_root():
    names = ["analyticsaccelerator-s3-1.3.1.jar", "bundle-2.35.4.jar", "delta-spark_2.13-4.4.0.jar"]
    names += ["delta-storage-4.4.0.jar", "hadoop-aws-3.5.0.jar", "wildfly-openssl-2.2.5.Final.jar"]
    jars = [Path("/j") / n for n in names]
    assert [p.name for p in session_jars(jars, s3a=False)] == [
        "delta-spark_2.13-4.4.0.jar",
        "delta-storage-4.4.0.jar",
    ]
    assert session_jars(jars, s3a=True) == jars
