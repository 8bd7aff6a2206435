"""The customer-events pipeline as a plain PySpark script on local[2]. Usage: LANDING_DIR OUT_DIR

Spark writes parquet here (the Delta Spark connector comes from Maven, which is not reachable).
"""

import sys
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
SCHEMA = "customer_id STRING, event_type STRING, amount STRING, event_timestamp STRING"


def main(landing: Path, out: Path) -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    bronze = spark.read.schema(SCHEMA).option("mode", "PERMISSIVE").json(str(landing))
    bronze.write.mode("overwrite").parquet(str(out / "bronze"))
    bronze = spark.read.parquet(str(out / "bronze"))
    silver = bronze.select(
        "customer_id",
        "event_type",
        F.expr("try_cast(amount AS DOUBLE)").alias("amount"),
        F.expr("try_cast(event_timestamp AS TIMESTAMP)").alias("event_timestamp"),
    ).where("customer_id IS NOT NULL AND amount > 0")
    silver.write.mode("overwrite").parquet(str(out / "silver"))
    silver = spark.read.parquet(str(out / "silver"))

    def is_type(t):
        return F.when(F.col("event_type") == t, 1).otherwise(0)

    gold = (
        silver.groupBy("customer_id")
        .agg(
            F.count("*").alias("total_events"),
            F.avg("amount").alias("avg_amount"),
            F.count("event_type").alias("event_count"),
            F.sum("amount").alias("total_spend"),
            F.sum(is_type("purchase")).cast("bigint").alias("purchase_count"),
            *[(F.sum(is_type(t)) / F.count("*")).alias(f"share_{t}") for t in EVENT_TYPES],
            F.min("event_timestamp").alias("first_event_at"),
            F.max("event_timestamp").alias("last_event_at"),
        )
        .orderBy("customer_id")
    )
    gold.write.mode("overwrite").parquet(str(out / "gold"))
    print(bronze.count(), silver.count(), gold.count())
    spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
