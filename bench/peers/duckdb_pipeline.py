"""The customer-events pipeline as a plain DuckDB script (what a user would write instead).

No ledger, no expectations bookkeeping, no quarantine, no rescued data: read every file with
DuckDB's JSON reader (the four fields as text, bad lines ignored), cast with TRY_CAST, filter
both rules, aggregate the same gold features as the platform, write the three Delta tables.
Usage: python duckdb_pipeline.py LANDING_DIR OUT_DIR
"""

import sys
from pathlib import Path

import duckdb
from deltalake import write_deltalake

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
COLUMNS = (
    "{customer_id: 'VARCHAR', event_type: 'VARCHAR', amount: 'VARCHAR', event_timestamp: 'VARCHAR'}"
)


def main(landing: Path, out: Path) -> None:
    files = sorted(str(p) for p in landing.glob("*.json"))
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE bronze AS SELECT * FROM read_ndjson({files!r}, columns={COLUMNS}, "
        "ignore_errors=true, format='newline_delimited')"
    )
    write_deltalake(str(out / "bronze"), con.sql("SELECT * FROM bronze"), mode="overwrite")
    con.execute(
        "CREATE TABLE silver AS SELECT customer_id, event_type, "
        "TRY_CAST(amount AS DOUBLE) AS amount, "
        "TRY_CAST(event_timestamp AS TIMESTAMP) AS event_timestamp FROM bronze "
        "WHERE customer_id IS NOT NULL AND TRY_CAST(amount AS DOUBLE) > 0"
    )
    write_deltalake(str(out / "silver"), con.sql("SELECT * FROM silver"), mode="overwrite")
    shares = ", ".join(
        f"SUM(CASE WHEN event_type = '{t}' THEN 1 ELSE 0 END) / COUNT(*) AS share_{t}"
        for t in EVENT_TYPES
    )
    gold = con.sql(
        "SELECT customer_id, COUNT(*) AS total_events, AVG(amount) AS avg_amount, "
        "COUNT(event_type) AS event_count, SUM(amount) AS total_spend, "
        "CAST(SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS BIGINT) "
        "AS purchase_count, "
        f"{shares}, MIN(event_timestamp) AS first_event_at, "
        "MAX(event_timestamp) AS last_event_at FROM silver GROUP BY customer_id "
        "ORDER BY customer_id"
    )
    write_deltalake(str(out / "gold"), gold, mode="overwrite")
    counts = [
        con.execute(f"SELECT COUNT(*) FROM {t}").fetchall()[0][0] for t in ("bronze", "silver")
    ]
    print(*counts, con.execute("SELECT COUNT(DISTINCT customer_id) FROM silver").fetchall()[0][0])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
