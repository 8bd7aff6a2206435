"""The seed's Delta Live Tables pipeline, unchanged but for its import line.

Run it as it is:
    dagster asset materialize -f examples/customer_events_dlt.py --select '*'
    dagster dev -f examples/customer_events_dlt.py
Its tables live under the schema `customer_events_dlt` (lakehouse/customer_events_dlt/<table>).
"""

from pyspark.sql.functions import avg, col, count

from mlplatform import dlt  # was: import dlt


@dlt.table(
    comment="Raw customer events ingested from landing files with Auto Loader",
    table_properties={"quality": "bronze"},
)
def raw_customer_events():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaEvolutionMode", "rescue")
        .option(
            "cloudFiles.schemaHints",
            "customer_id STRING, event_type STRING, amount STRING, event_timestamp STRING",
        )
        .load("landing/customer_events")
    )


@dlt.table(comment="Cleaned customer events with types applied")
@dlt.expect_or_drop("valid_customer_id", "customer_id IS NOT NULL")
@dlt.expect_or_drop("valid_amount", "amount > 0")
def cleaned_customer_events():
    return dlt.read_stream("raw_customer_events").select(
        col("customer_id"),
        col("event_type"),
        col("amount").cast("double").alias("amount"),
        col("event_timestamp").cast("timestamp").alias("event_timestamp"),
    )


@dlt.table(comment="Customer-level features for the churn model")
def customer_ml_features():
    return (
        dlt.read("cleaned_customer_events")
        .groupBy("customer_id")
        .agg(
            count("*").alias("total_events"),
            avg("amount").alias("avg_amount"),
            count("event_type").alias("event_count"),
        )
    )
