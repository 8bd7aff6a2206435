"""Bronze: the landing files, ingested incrementally (Auto Loader's cloudFiles)."""

from mlplatform import pipelines as dp


@dp.table(
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
