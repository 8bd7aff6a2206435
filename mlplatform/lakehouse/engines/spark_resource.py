"""The `pyspark` resource: dagster-pyspark's session, with pyspark imported only when used.

`dagster_pyspark` imports pyspark (about 0.4 s) at module import; every `dagster` command loads
the definitions, and most runs never touch Spark. This resource keeps PySparkResource's config
(`spark_config`) and attributes (`spark_session`, `spark_context`) and builds the session when a
Spark step initializes it. `spark_config` as dagster-pyspark takes it, plus `spark.remote`: with
`{"spark.remote": "sc://host:15002"}` the session is a Spark Connect session, on which only the
`spark.sql.*` settings are set (at runtime); the engine's `spark_config()` builds it from
`MLPLATFORM_SPARK_REMOTE`.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import PrivateAttr


class PySparkResource(dg.ConfigurableResource):
    """Access to a PySpark SparkSession, created the first time a step asks for it (a table
    asset on the polars engine requires the resource but never starts Spark)."""

    spark_config: dict[str, Any]
    _spark_session = PrivateAttr(default=None)

    @property
    def spark_session(self) -> Any:
        if self._spark_session is None:
            from mlplatform.lakehouse.engines.spark_session import session_from_config

            self._spark_session = session_from_config(self.spark_config)
        return self._spark_session

    @property
    def spark_context(self) -> Any:
        """The SparkContext of a classic session (a Spark Connect session has none)."""
        from mlplatform.lakehouse.engines.spark_session import is_connect

        if is_connect(self.spark_session):
            raise AttributeError("a Spark Connect session has no SparkContext (spark.remote)")
        return self.spark_session.sparkContext
