"""``mlplatform spark fetch-jars``: put Delta Lake's Spark connector and hadoop-aws in the cache."""

from __future__ import annotations

import time

import click


@click.group("spark")
def spark_group() -> None:
    """The Spark session's jars."""


@spark_group.command("fetch-jars")
def fetch_jars_command() -> None:
    """Fetch Delta Lake's Spark connector and hadoop-aws with Maven (once; then nothing to do).

    The folder is MLPLATFORM_SPARK_JARS (default ~/.cache/mlplatform/spark-jars); each line
    printed is one jar the Spark session will add as spark.jars.
    """
    from mlplatform.lakehouse.engines.spark_jars import SparkJarsError, fetch_jars, jars_folder

    start = time.monotonic()
    try:
        jars = fetch_jars()
    except SparkJarsError as err:
        raise click.ClickException(str(err)) from err
    size = sum(p.stat().st_size for p in jars) / 2**20
    click.echo(f"{len(jars)} jars ({size:.0f} MiB) in {jars_folder()} ", nl=False)
    click.echo(f"({time.monotonic() - start:.1f} s)")
    for path in jars:
        click.echo(f"  {path.name}")
