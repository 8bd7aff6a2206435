"""The table root in an object store: a real S3 server (moto's ``moto_server``) on loopback,
``MLPLATFORM_LAKEHOUSE=s3://...`` with the endpoint and keys in ``MLPLATFORM_STORAGE_OPTIONS``.
The medallion pipeline runs twice in real ``dagster asset materialize`` processes, with a new
landing file in between, and its tables equal a local root's on the same landing files."""

from __future__ import annotations

import json
import socket
import time

import polars as pl
import pytest
from customer_churn.demo_data import BadShares, generate
from polars.testing import assert_frame_equal

from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.object_location import ObjectLocation
from tests.integration._cli import BIN, run
from tests.integration._services import free_port, start, stop
from tests.integration._spark_services import (
    MEDALLION,
    VOLATILE,
    homes_sharing_landing,
    run_on_polars,
)

pytestmark = pytest.mark.integration
SELECT = ",".join(MEDALLION)
SHARES = BadShares(malformed=0.01, unknown_field=0.01, blank_lines=0.01)
BUCKET = "mlplatform-lakehouse"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server for the module (stopped by its process id) and one bucket in it;
    yields the storage options that reach it."""
    import boto3

    folder = tmp_path_factory.mktemp("moto")
    port = free_port()
    log = folder / "moto.log"
    proc = start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], {}, log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"moto_server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"moto_server did not listen on {port}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    options = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    boto3.client(
        "s3",
        endpoint_url=options["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    try:
        yield options
    finally:
        stop(proc)


def materialize_on_s3(home, root: str, options: dict):
    """``dagster asset materialize`` of the medallion tables with the table root on S3, with
    their expectation checks and the freshness and completeness checks (which read each
    table's history from the object store)."""
    args = [str(BIN / "dagster"), "asset", "materialize", "--select", SELECT]
    args += ["-m", "mlplatform.definitions"]
    env = {"MLPLATFORM_LAKEHOUSE": root, "MLPLATFORM_STORAGE_OPTIONS": json.dumps(options)}
    done = run(args, home, **env)
    output = done.stdout + done.stderr
    for check in ("freshness", "completeness"):
        assert f"Asset check '{check}' on 'gold/customer_ml_features' passed" in output, check
    return done


def assert_same_as_local(local_home, root: str, options: dict) -> dict[str, int]:
    """Every medallion table under the S3 root holds the rows of the local root's."""
    counts = {}
    for key in MEDALLION:
        a = pl.read_delta(str(local_home / "lakehouse" / key)).drop(VOLATILE, strict=False)
        b = pl.read_delta(f"{root}/{key}", storage_options=options).drop(VOLATILE, strict=False)
        assert a.schema == b.schema, key
        assert len(a) > 0, key
        assert_frame_equal(a.sort(a.columns), b.sort(a.columns))
        counts[key] = len(a)
    return counts


def test_medallion_twice_on_s3_equals_a_local_root(tmp_path, monkeypatch, s3):
    homes = homes_sharing_landing(tmp_path, ("local", "s3"))
    root = f"s3://{BUCKET}/run-{tmp_path.name}/lakehouse"
    generate(tmp_path / "shared", customers=120, events=2400, files=2, seed=3, shares=SHARES)
    materialize_on_s3(homes["s3"], root, s3)
    run_on_polars(homes["local"], monkeypatch)
    first = assert_same_as_local(homes["local"], root, s3)
    assert first["bronze/raw_customer_events"] == 2400  # malformed lines are rescued rows
    assert not (homes["s3"] / "lakehouse").exists()  # nothing of the tables on the local disk

    generate(
        tmp_path / "shared", customers=120, events=600, files=1, seed=4, shares=SHARES, labels=False
    )
    materialize_on_s3(homes["s3"], root, s3)
    run_on_polars(homes["local"], monkeypatch)
    again = assert_same_as_local(homes["local"], root, s3)
    assert again["bronze/raw_customer_events"] == 3000
    bronze = DeltaStore(ObjectLocation(f"{root}/bronze/raw_customer_events", tuple(s3.items())), "")
    assert bronze.table().version() == 1  # two appends: the second run read only the new file
    assert bronze.table().transaction_version("bronze/raw_customer_events") == 2


def test_a_batch_is_committed_once_by_writers_racing_on_s3(s3):
    """Two writers of one batch against the same snapshot: S3's conditional write makes the
    second commit conflict, and the guard then finds the batch committed."""
    from deltalake import write_deltalake

    location = ObjectLocation(f"s3://{BUCKET}/race/t", tuple(s3.items()))
    store = DeltaStore(location, "silver/t")
    store.write(pl.DataFrame({"n": [0]}), batch_id=1)
    rows = pl.DataFrame({"n": [1, 2]})
    calls = []

    def commit(table):
        if not calls:  # another run commits batch 2 after this one loaded its snapshot
            DeltaStore(location, "silver/t").write(rows, batch_id=2)
        calls.append(table.version())
        write_deltalake(table, rows, mode="append", commit_properties=store.commit_properties(2))

    with pytest.raises(BatchCommittedError, match="batch 2 was already committed"):
        store.guarded(2, commit)
    assert calls == [0]  # the stale commit failed; the retry saw the batch committed
    assert sorted(store.read()["n"]) == [0, 1, 2]  # batch 2's rows once
    assert store.version() == 1 and store.committed_batch() == 2
    store.remove()  # a full refresh that starts over deletes the table through the object store
    assert not store.exists()


class _ExecutorWrites:
    """A stand-in for Spark's writer: the "executors" put two parquet files and Hadoop's
    ``_SUCCESS`` marker into the staging folder of the table on S3, as S3A would."""

    def __init__(self, client, rows: pl.DataFrame):
        self.client, self.rows, self.uri = client, rows, None

    def mode(self, _):
        return self

    def parquet(self, uri: str) -> None:
        import io

        self.uri = uri
        bucket, _, key = uri.removeprefix("s3a://").partition("/")
        for i, part in enumerate((self.rows.head(2), self.rows.tail(1))):
            body = io.BytesIO()
            part.write_parquet(body)
            self.client.put_object(
                Bucket=bucket, Key=f"{key}/part-0000{i}.parquet", Body=body.getvalue()
            )
        self.client.put_object(Bucket=bucket, Key=f"{key}/_SUCCESS", Body=b"")


class _Session:
    """Answers the probe as a session with S3A would, and has no Delta connector."""

    class conf:  # noqa: N801 - the attribute Spark sessions have
        @staticmethod
        def get(key, default=None):
            return default

    class sparkContext:  # noqa: N801
        applicationId = "stand-in"

    @property
    def read(self):
        return self

    def format(self, _):
        return self

    def load(self, uri):
        raise RuntimeError(f"[PATH_NOT_FOUND] Path does not exist: {uri}")


def test_executor_files_on_s3_are_committed_by_the_client(s3):
    """The Spark engine's commit on an S3 root: the files the executors wrote are listed and
    measured through deltalake's object store, the marker removed, one commit made."""
    import boto3

    from mlplatform.lakehouse.engines.spark_engine import SparkEngine

    client = boto3.client(
        "s3",
        endpoint_url=s3["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    store = DeltaStore(ObjectLocation(f"s3://{BUCKET}/spark/t", tuple(s3.items())), "silver/t")
    rows = pl.DataFrame({"id": ["a", "b", "c"], "amount": [1.0, 2.0, None]})
    frame = type("Frame", (), {"write": _ExecutorWrites(client, rows)})()
    version = SparkEngine(_Session()).write(store, frame, batch_id=1, mode="append")
    assert frame.write.uri.startswith(f"s3a://{BUCKET}/spark/t/spark-b1-")
    assert version == 0 and store.committed_batch() == 1
    assert_frame_equal(store.read().sort("id"), rows)
    files = store.table().file_uris()
    assert len(files) == 2 and all("/spark-b1-" in f for f in files)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="spark/t/spark-b1-")["Contents"]
    assert not [o for o in listed if o["Key"].endswith("_SUCCESS")]


def test_spark_without_hadoop_aws_names_what_is_missing(tmp_path, s3):
    """A real local[2] session on an S3 root: pyspark's wheel has no S3A file system, and the
    run fails before writing, naming the class and the package to add to the cluster."""
    homes = homes_sharing_landing(tmp_path, ("spark",))
    root = f"s3://{BUCKET}/spark-{tmp_path.name}/lakehouse"
    generate(tmp_path / "shared", customers=20, events=100, files=1, seed=5, labels=False)
    args = [str(BIN / "dagster"), "asset", "materialize", "--select", "bronze/raw_customer_events"]
    args += ["-m", "mlplatform.definitions"]
    env = {"MLPLATFORM_LAKEHOUSE": root, "MLPLATFORM_STORAGE_OPTIONS": json.dumps(s3)}
    # a cache without the fetched jars: the session has no hadoop-aws
    env["MLPLATFORM_SPARK_JARS"] = str(tmp_path / "no-jars")
    failed = run(args, homes["spark"], check=False, MLPLATFORM_ENGINE="spark", **env)
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "SparkStorageError" in output, output[-3000:]
    assert "org.apache.hadoop.fs.s3a.S3AFileSystem is not on its class path" in output
    assert "Add hadoop-aws and its AWS SDK bundle to the cluster" in output
    bronze = ObjectLocation(f"{root}/bronze/raw_customer_events", tuple(s3.items()))
    assert not DeltaStore(bronze, "bronze/raw_customer_events").exists()  # nothing committed
