"""The customer-events pipeline as a plain pandas script. Usage: LANDING_DIR OUT_DIR"""

import json
import sys
from pathlib import Path

import pandas as pd
from deltalake import write_deltalake

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
FIELDS = ["customer_id", "event_type", "amount", "event_timestamp"]


def main(landing: Path, out: Path) -> None:
    records = []
    for path in sorted(landing.glob("*.json")):
        with open(path) as handle:
            for line in handle:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    records.append({f: rec.get(f) for f in FIELDS})
    bronze = pd.DataFrame.from_records(records, columns=FIELDS).astype("string")
    write_deltalake(str(out / "bronze"), bronze, mode="overwrite")
    silver = bronze.assign(
        amount=pd.to_numeric(bronze["amount"], errors="coerce"),
        event_timestamp=pd.to_datetime(bronze["event_timestamp"], errors="coerce"),
    )
    silver = silver[silver["customer_id"].notna() & (silver["amount"] > 0)]
    write_deltalake(str(out / "silver"), silver, mode="overwrite")
    event = silver["event_type"]
    flags = {f"is_{t}": event.eq(t).fillna(False).astype("int64") for t in EVENT_TYPES}
    gold = (
        silver.assign(**flags)
        .groupby("customer_id", sort=True)
        .agg(
            total_events=("customer_id", "size"),
            avg_amount=("amount", "mean"),
            event_count=("event_type", "count"),
            total_spend=("amount", "sum"),
            purchase_count=("is_purchase", "sum"),
            **{f"share_{t}": (f"is_{t}", "mean") for t in EVENT_TYPES},
            first_event_at=("event_timestamp", "min"),
            last_event_at=("event_timestamp", "max"),
        )
        .reset_index()
    )
    write_deltalake(str(out / "gold"), gold, mode="overwrite")
    print(len(bronze), len(silver), len(gold))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
