"""Delta Lake's Spark connector (and Hadoop's S3A file system) as jars beside pyspark's own.

The pyspark wheel has neither ``format("delta")`` nor ``s3a://``. The jars are fetched once with
Maven (``mvn dependency:copy-dependencies`` on the package's ``templates/jars/pom.xml``, a copy
of the repository's ``jars/pom.xml``) into a cache folder, ``MLPLATFORM_SPARK_JARS`` (default
``~/.cache/mlplatform/spark-jars``), one subfolder per pom, and a session takes them as
``spark.jars`` (not ``spark.jars.packages``: Spark's Ivy resolver ignores the machine's Maven
settings). ``mlplatform spark fetch-jars`` and the CI script fill the cache; a fetch is
idempotent (a complete subfolder is kept, an interrupted one is fetched again).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from mlplatform.settings.variables import SPARK_JARS

log = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
FORMAT_CHECK = "spark.databricks.delta.formatCheck.enabled"
# how the platform's Spark engine writes on a session with the connector: "files" keeps its
# parquet files + delta-rs commit (the tested exactly-once path); "connector" uses format("delta")
ENGINE_WRITES = "spark.mlplatform.engine.deltaWrites"
# hadoop-aws and what it brings (the AWS SDK bundle is most of the download)
S3A_JARS = ("hadoop-aws-", "bundle-", "analyticsaccelerator-s3-", "wildfly-openssl-")
MANIFEST = "jars.txt"  # written last: its presence means the folder is complete
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class SparkJarsError(RuntimeError):
    """The jars could not be fetched (no Maven, a failed download) or are not there."""


def pom_path() -> Path:
    """The pom that lists the jars (shipped with the package)."""
    return Path(str(resources.files("mlplatform") / "templates" / "jars" / "pom.xml"))


def versions(pom: Path | None = None) -> dict[str, str]:
    """The pom's ``<properties>`` (``delta.version``, ``hadoop.version``)."""
    root = ET.parse(pom or pom_path()).getroot()
    props = root.find("m:properties", _POM_NS)
    return {child.tag.split("}")[-1]: (child.text or "") for child in props}


def cache_root() -> Path:
    """``MLPLATFORM_SPARK_JARS``, else ``$XDG_CACHE_HOME/mlplatform/spark-jars`` (``~/.cache``)."""
    if SPARK_JARS.raw():
        return Path(SPARK_JARS.raw()).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlplatform" / "spark-jars"


def jars_folder(pom: Path | None = None) -> Path:
    """The cache subfolder of this pom: named by its versions and a hash of its text, so a
    changed pom never reuses another's jars."""
    pom = pom or pom_path()
    v = versions(pom)
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:10]
    name = f"delta-{v.get('delta.version', '')}_hadoop-{v.get('hadoop.version', '')}_{digest}"
    return cache_root() / name


def jar_paths(pom: Path | None = None) -> list[Path] | None:
    """The fetched jars (sorted), or None when the cache has no complete folder for the pom."""
    folder = jars_folder(pom)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    paths = [folder / name for name in manifest.read_text().split()]
    return paths if paths and all(p.is_file() for p in paths) else None


def session_jars(jars: list[Path], s3a: bool) -> list[Path]:
    """The jars a session takes: Delta's always; hadoop-aws and its AWS SDK (about 650 MiB,
    which Spark copies to each executor) only for a table root in S3 (``s3a``)."""
    return [p for p in jars if s3a or not p.name.startswith(S3A_JARS)]


def fetch_jars(pom: Path | None = None, mvn: str = "mvn") -> list[Path]:
    """Fetch the pom's jars into the cache (nothing to do when they are there); returns them.

    Maven downloads into a temporary folder beside the final one, which is renamed when complete,
    so a fetch killed half-way leaves no folder that looks complete.

    Raises:
        SparkJarsError: no ``mvn`` on the PATH, or Maven failed (its last output lines).
    """
    pom = pom or pom_path()
    found = jar_paths(pom)
    if found:
        return found
    exe = shutil.which(mvn)
    if exe is None:
        raise SparkJarsError(
            f"cannot fetch Delta Lake's Spark jars: {mvn!r} (Apache Maven) is not on the PATH; "
            "install it (Debian: apt-get install maven) and run `mlplatform spark fetch-jars`"
        )
    folder = jars_folder(pom)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    cmd = [exe, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies"]
    cmd.append(f"-DoutputDirectory={partial}")
    log.info("fetching Spark jars into %s", folder)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=partial)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        shutil.rmtree(partial, ignore_errors=True)
        raise SparkJarsError(f"mvn failed ({done.returncode}) fetching the jars of {pom}:\n{tail}")
    names = sorted(p.name for p in partial.glob("*.jar"))
    if not names:
        raise SparkJarsError(f"mvn fetched no jar for {pom} into {partial}")
    (partial / MANIFEST).write_text("\n".join(names) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return [folder / name for name in names]


def delta_settings(jars: list[Path]) -> dict[str, str]:
    """Session settings that add ``jars`` and turn Delta Lake's SQL extension and catalog on."""
    return {
        "spark.jars": ",".join(str(p) for p in jars),
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        # the platform's engine writes parquet into a Delta table's folder and commits the files
        # with delta-rs; Delta's check refuses a non-Delta write under a _delta_log
        FORMAT_CHECK: "false",
        ENGINE_WRITES: "files",
    }


def with_delta(config: dict[str, str], jars: list[Path]) -> dict[str, str]:
    """``config`` with the Delta settings added: jars and extensions are appended to any the
    config names; a catalog it names is kept."""
    out = dict(config)
    for key, value in delta_settings(jars).items():
        given = out.get(key)
        if key in ("spark.sql.catalog.spark_catalog", FORMAT_CHECK, ENGINE_WRITES) or not given:
            out[key] = given or value
            continue
        items = given.split(",")
        out[key] = ",".join(items + [v for v in value.split(",") if v not in items])
    return out


def connect_server_args(jars: list[Path]) -> list[str]:
    """The arguments that give a Spark Connect server (``start-connect-server.sh``, or
    ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``) the jars
    and Delta's extension and catalog."""
    settings = delta_settings(jars)
    args = ["--jars", settings.pop("spark.jars")]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    return args
