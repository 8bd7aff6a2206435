"""The `pyspark` resource: dagster-pyspark's session, with pyspark imported only when used.

`dagster_pyspark` imports pyspark (about 0.4 s) at module import; every `dagster` command loads
the definitions, and most runs never touch Spark. This resource keeps PySparkResource's config
(`spark_config`) and attributes (`spark_session`, `spark_context`) and builds the session with
dagster-pyspark's own `spark_session_from_config` when a Spark step initializes it.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import PrivateAttr


class PySparkResource(dg.ConfigurableResource):
    """Access to a PySpark SparkSession, created when a step that requires it starts."""

    spark_config: dict[str, Any]
    _spark_session = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from dagster_pyspark.resources import spark_session_from_config

        self._spark_session = spark_session_from_config(self.spark_config)

    @property
    def spark_session(self) -> Any:
        return self._spark_session

    @property
    def spark_context(self) -> Any:
        return self._spark_session.sparkContext
