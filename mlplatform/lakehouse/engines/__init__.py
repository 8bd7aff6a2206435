"""Table engines: the same table definitions and expectations run on polars (embedded) or Spark."""

from __future__ import annotations

from mlplatform.lakehouse.engines.base import Engine


def get_engine(name: str, spark_session=None) -> Engine:
    """The engine called ``name`` (``polars`` or ``spark``)."""
    if name == "polars":
        from mlplatform.lakehouse.engines.polars_engine import PolarsEngine

        return PolarsEngine()
    if name == "spark":
        from mlplatform.lakehouse.engines.spark_engine import SparkEngine

        return SparkEngine(spark_session)
    raise ValueError(f"engine {name!r} is not one of polars, spark")
