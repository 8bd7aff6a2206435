"""The customer-events pipeline as a plain polars script (the peer mlplatform is compared to).

No ledger, no expectations bookkeeping, no quarantine: read every file, keep lines that look like
JSON objects, cast, filter both rules, aggregate, write the three Delta tables.
Usage: python polars_pipeline.py LANDING_DIR OUT_DIR
"""

import sys
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

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
    gold = silver.group_by("customer_id").agg(
        pl.len().alias("total_events"),
        pl.col("amount").mean().alias("avg_amount"),
        pl.col("event_type").count().alias("event_count"),
    )
    write_deltalake(str(out / "gold"), gold.to_arrow(), mode="overwrite")
    print(len(bronze), len(silver), len(gold))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
