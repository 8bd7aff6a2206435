"""Spark and an object-store table root: Hadoop URIs, S3A settings from the storage options, and
the error for a session without the file system (no JVM: a stand-in session answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplatform.lakehouse.engines.spark_storage import (
    SparkStorageError,
    check_reachable,
    hadoop_settings,
    session_settings,
    spark_uri,
)

MOTO = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def test_s3_uris_are_read_through_s3a():
    assert spark_uri("s3://bucket/lake/t/part-0.parquet") == "s3a://bucket/lake/t/part-0.parquet"
    assert spark_uri("gs://bucket/t") == "gs://bucket/t"
    assert spark_uri("/local/t") == "/local/t"
    with pytest.raises(SparkStorageError, match="abfss://<container>@<account>"):
        spark_uri("az://container/t")


def test_storage_options_map_to_s3a_settings():
    assert hadoop_settings(MOTO) == {
        "fs.s3a.endpoint": "http://127.0.0.1:5000",
        "fs.s3a.access.key": "key",
        "fs.s3a.secret.key": "secret",
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
    }
    token = hadoop_settings({"aws_session_token": "t", "aws_region": "eu-west-1"})
    assert token["fs.s3a.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")
    virtual = {"AWS_ENDPOINT_URL": "https://s3.example", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true"}
    assert hadoop_settings(virtual)["fs.s3a.path.style.access"] == "false"


def test_a_classic_session_gets_them_as_spark_hadoop_settings_for_an_s3_root():
    from mlplatform.lakehouse.object_location import ObjectLocation

    settings = session_settings(ObjectLocation("s3://bucket/lake"), MOTO)
    assert settings["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert session_settings(Path("/data/lake"), MOTO) == {}


class _Session:
    """Answers a probe read as a Spark session would."""

    def __init__(self, error: str):
        self.error, self.probes = error, []

    @property
    def read(self):
        return self

    def format(self, _):
        return self

    def load(self, uri):
        self.probes.append(uri)
        raise RuntimeError(self.error)


def test_a_session_without_s3a_fails_naming_what_is_missing():
    session = _Session(
        "java.lang.RuntimeException: java.lang.ClassNotFoundException: "
        "Class org.apache.hadoop.fs.s3a.S3AFileSystem not found"
    )
    with pytest.raises(SparkStorageError) as err:
        check_reachable(session, "s3://bucket/lake/bronze/t", "app-1")
    text = str(err.value)
    assert "cannot reach s3a://bucket/lake/bronze/t" in text
    assert "org.apache.hadoop.fs.s3a.S3AFileSystem is not on its class path" in text
    assert "hadoop-aws" in text and "nothing was read or written" in text


def test_a_session_with_the_file_system_is_probed_once():
    session = _Session("[PATH_NOT_FOUND] Path does not exist: s3a://bucket/lake/_probe")
    check_reachable(session, "s3://bucket/lake/a", "app-2")
    check_reachable(session, "s3://bucket/lake/b", "app-2")
    assert len(session.probes) == 1 and session.probes[0].startswith("s3a://bucket/lake/a/")


def test_other_errors_are_not_hidden():
    session = _Session("Access Denied (Service: S3, Status Code: 403)")
    with pytest.raises(RuntimeError, match="Access Denied"):
        check_reachable(session, "s3://bucket/lake/a", "app-3")
