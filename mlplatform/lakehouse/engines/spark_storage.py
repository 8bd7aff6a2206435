"""Spark and an object-store table root: URIs Hadoop reads, the storage options as Hadoop
settings, and a clear error when the session lacks the file system.

Spark reaches S3 through Hadoop's S3A file system (``s3a://``), which the pyspark wheel does not
ship: the cluster needs ``hadoop-aws`` (matching its Hadoop version) and the AWS SDK bundle on its
class path. The deltalake storage options map to ``fs.s3a.*`` settings: ``spark.hadoop.fs.s3a.*``
at session start for a classic session, runtime settings (``fs.s3a.*``, which Spark copies into
every job's Hadoop configuration) over Spark Connect.
"""

from __future__ import annotations

import re

from mlplatform.lakehouse.object_location import is_object_uri

FILE_SYSTEMS = {
    "s3a": ("org.apache.hadoop.fs.s3a.S3AFileSystem", "hadoop-aws and its AWS SDK bundle"),
    "gs": ("com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem", "the GCS connector"),
    "abfss": ("org.apache.hadoop.fs.azurebfs.SecureAzureBlobFileSystem", "hadoop-azure"),
    "abfs": ("org.apache.hadoop.fs.azurebfs.AzureBlobFileSystem", "hadoop-azure"),
}

_S3A = {  # deltalake (object_store) option -> Hadoop S3A setting
    "aws_endpoint_url": "fs.s3a.endpoint",
    "aws_endpoint": "fs.s3a.endpoint",
    "endpoint_url": "fs.s3a.endpoint",
    "aws_access_key_id": "fs.s3a.access.key",
    "access_key_id": "fs.s3a.access.key",
    "aws_secret_access_key": "fs.s3a.secret.key",
    "secret_access_key": "fs.s3a.secret.key",
    "aws_session_token": "fs.s3a.session.token",
    "aws_region": "fs.s3a.endpoint.region",
    "region": "fs.s3a.endpoint.region",
}
_REACHABLE: set[tuple[str, str]] = set()  # (session id, scheme) known to have the file system


class SparkStorageError(RuntimeError):
    """The Spark session cannot reach the table root (nothing was read or written)."""


def spark_uri(uri: str) -> str:
    """The URI Spark's Hadoop file systems read: ``s3://`` as ``s3a://``; ``az://`` has no Hadoop
    form without the account (use ``abfss://container@account.dfs.core.windows.net/...``)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    scheme = scheme.lower()
    if scheme in ("s3", "s3a"):
        return f"s3a://{rest}"
    if scheme in ("az", "adl"):
        raise SparkStorageError(
            f"{uri}: the Spark engine reads Azure through Hadoop's ABFS: set MLPLATFORM_LAKEHOUSE "
            "to abfss://<container>@<account>.dfs.core.windows.net/<path>"
        )
    return f"gs://{rest}" if scheme == "gcs" else uri


def hadoop_settings(storage_options: dict[str, str]) -> dict[str, str]:
    """The S3A settings (``fs.s3a.*``) of deltalake storage options (endpoint, keys, region,
    ``AWS_ALLOW_HTTP``); a custom endpoint is addressed path-style, as S3-compatible servers
    expect, unless ``AWS_VIRTUAL_HOSTED_STYLE_REQUEST`` is true."""
    lower = {k.lower(): v for k, v in storage_options.items()}
    out = {_S3A[k]: v for k, v in lower.items() if k in _S3A}
    if "fs.s3a.session.token" in out:
        out["fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        )
    if "fs.s3a.endpoint" in out:
        virtual = lower.get("aws_virtual_hosted_style_request", "false").lower() == "true"
        out["fs.s3a.path.style.access"] = "false" if virtual else "true"
        if out["fs.s3a.endpoint"].startswith("http://"):
            out["fs.s3a.connection.ssl.enabled"] = "false"
    if lower.get("aws_allow_http", lower.get("allow_http", "")).lower() == "true":
        out["fs.s3a.connection.ssl.enabled"] = "false"
    return out


def session_settings(root, storage_options: dict[str, str]) -> dict[str, str]:
    """``spark.hadoop.*`` settings for a classic session over the table root ``root`` (empty for
    a local root)."""
    if not is_object_uri(str(root)) or spark_uri(str(root)).split("://")[0] != "s3a":
        return {}
    return {f"spark.hadoop.{k}": v for k, v in hadoop_settings(storage_options).items()}


def check_reachable(spark, uri: str, session_id: str) -> None:
    """Fail with a clear error when ``spark`` has no Hadoop file system for ``uri``'s scheme.

    A probe lists a path that does not exist: a session with the file system answers "path not
    found"; one without names the missing class.

    Raises:
        SparkStorageError: the file system class is not on the session's class path.
    """
    target = spark_uri(uri)
    scheme = target.split("://", 1)[0]
    if (session_id, scheme) in _REACHABLE or scheme == "file" or "://" not in target:
        return
    probe = f"{target.rstrip('/')}/_mlplatform_probe_does_not_exist"
    try:
        spark.read.format("binaryFile").load(probe).limit(1).collect()
    except Exception as err:  # py4j, Connect and analysis errors alike: read the message
        text = str(err)
        missing = re.search(r"Class (\S+) not found", text)
        if missing or "No FileSystem for scheme" in text:
            name, package = FILE_SYSTEMS.get(scheme, (None, f"a Hadoop file system for {scheme}"))
            found = missing.group(1) if missing else name or scheme
            raise SparkStorageError(
                f"the Spark session cannot reach {target}: {found} is not on its class path. "
                f"Add {package} to the cluster (its jars, or spark.jars.packages such as "
                "org.apache.hadoop:hadoop-aws:<the cluster's Hadoop version>); nothing was "
                "read or written"
            ) from None
        if "PATH_NOT_FOUND" not in text and "does not exist" not in text:
            raise
    _REACHABLE.add((session_id, scheme))
