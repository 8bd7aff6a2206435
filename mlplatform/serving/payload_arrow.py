"""The payload table's Arrow schema and the column-wise conversion of logged rows (pyarrow is
imported here, by the server's logger, not by the definitions)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from mlplatform.serving.payload_row import PayloadRow

PAYLOAD_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("client_request_id", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("status_code", pa.int32(), nullable=False),
        pa.field("execution_time_ms", pa.float64(), nullable=False),
        pa.field("request", pa.string()),
        pa.field("response", pa.string()),
        pa.field("model_name", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("served_features", pa.string()),
        pa.field("request_bytes", pa.int64()),
        pa.field("request_truncated", pa.bool_()),
    ]
)


def payload_arrow(rows: list[PayloadRow]) -> pa.Table:
    """Payload rows as an Arrow table of `PAYLOAD_SCHEMA` (column-wise: fast, little GIL time)."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(PayloadRow._fields)
    c = dict(zip(PayloadRow._fields, cols, strict=True))
    ts = pa.array(c["timestamp_us"], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    arrays = {
        "request_id": pa.array(c["request_id"], pa.string()),
        "client_request_id": pa.array(c["client_request_id"], pa.string()),
        "timestamp": ts,
        "date": pc.cast(ts, pa.date32()),
        "status_code": pa.array(c["status_code"], pa.int32()),
        "execution_time_ms": pa.array(c["execution_time_ms"], pa.float64()),
        "request": pa.array(c["request"], pa.string()),
        "response": pa.array(c["response"], pa.string()),
        "model_name": pa.array(c["model_name"], pa.string()),
        "model_version": pa.array(c["model_version"], pa.string()),
        "served_features": pa.array(c["served_features"], pa.string()),
        "request_bytes": pa.array(c["request_bytes"], pa.int64()),
        "request_truncated": pa.array(c["request_truncated"], pa.bool_()),
    }
    return pa.Table.from_arrays([arrays[f.name] for f in PAYLOAD_SCHEMA], schema=PAYLOAD_SCHEMA)
