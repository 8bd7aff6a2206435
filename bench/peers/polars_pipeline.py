"""The customer-events pipeline as a plain polars script (the peer mlplatform is compared to).

No ledger, no expectations bookkeeping, no quarantine: read every file, keep lines that look like
JSON objects, cast, filter both rules, aggregate the same gold features as the platform, write the
three Delta tables.
Usage: python polars_pipeline.py LANDING_DIR OUT_DIR
"""

import sys
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
FIELDS = {
    "customer_id": pl.String,
    "event_type": pl.String,
    "amount": pl.String,
    "event_timestamp": pl.String,
}


def main(landing: Path, out: Path) -> None:
    files = sorted(str(p) for p in landing.glob("*.json"))
    lines = pl.scan_lines(files, name="line").filter(
        pl.col("line").str.starts_with("{") & pl.col("line").str.ends_with("}")
    )
    decoded = lines.select(pl.col("line").str.json_decode(pl.Struct(FIELDS)))
    bronze = decoded.unnest("line").collect()
    write_deltalake(str(out / "bronze"), bronze.to_arrow(), mode="overwrite")
    silver = bronze.with_columns(
        pl.col("amount").cast(pl.Float64, strict=False),
        pl.col("event_timestamp").str.to_datetime(time_unit="us", strict=False),
    ).filter(pl.col("customer_id").is_not_null() & (pl.col("amount") > 0))
    write_deltalake(str(out / "silver"), silver.to_arrow(), mode="overwrite")
    event = pl.col("event_type")
    gold = (
        silver.group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("total_events"),
            pl.col("amount").mean().alias("avg_amount"),
            event.count().cast(pl.Int64).alias("event_count"),
            pl.col("amount").sum().alias("total_spend"),
            (event == "purchase").sum().cast(pl.Int64).alias("purchase_count"),
            *[((event == t).sum() / pl.len()).alias(f"share_{t}") for t in EVENT_TYPES],
            pl.col("event_timestamp").min().alias("first_event_at"),
            pl.col("event_timestamp").max().alias("last_event_at"),
        )
        .sort("customer_id")
    )
    write_deltalake(str(out / "gold"), gold.to_arrow(), mode="overwrite")
    print(len(bronze), len(silver), len(gold))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
