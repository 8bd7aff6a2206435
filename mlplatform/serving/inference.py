"""Unpack the payload table into the inference table: one row per prediction, labels joined.

Incremental and exactly once: each run reads the data files the payload table added after the
version the inference table already consumed, and appends their predictions in one Delta commit
carrying the app transaction `('serving/<model>_inference', end_version + 1)`. The
transaction version itself is the ledger: it says which payload versions are done, and it is
committed atomically with the rows, so a crash can neither lose nor duplicate a prediction.

Features: the columns the model scored. For a request that used the online store the server logs
them (`served_features`: looked-up values merged with the sent ones) and `features_from` says per
row where they came from (`request`, `online` or `mixed`); otherwise they are the request's.

Labels: a prediction gets the first label of its identifier at or after its timestamp from the
model's declared label reader (`label` and `label_timestamp`: the observation that judges it),
or null while there is none. Every run then fills, with one Delta merge, the rows whose label
differs from that rule's answer, so labels that arrive after the predictions reach them on a later
run (the merge is idempotent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import polars as pl

from mlplatform.serving.served import ServedModel
from mlplatform.settings import Settings

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class InferenceRun:
    """What one update did (the asset's materialization metadata)."""

    batch_id: int
    start_version: int | None = None
    end_version: int | None = None
    requests: int = 0
    unpacked_requests: int = 0
    failed_requests: int = 0
    unreadable_requests: int = 0
    rows_appended: int = 0
    labels_filled: int = 0
    nothing_new: bool = False
    ignored_columns: list[str] = field(default_factory=list)


def unpack(payload: pl.DataFrame, model: ServedModel) -> tuple[pl.DataFrame, dict]:
    """One row per prediction of the successful requests in `payload` rows."""
    # imported on use: the payload parser pulls in pandas, which the definitions do not need
    from mlplatform.serving.payloads import MISSING, PayloadError, to_columns

    schema = model.inference.schema
    ok = payload.filter(pl.col("status_code") == 200)
    cols: dict[str, list] = {k: [] for k in schema if k not in ("label", "label_timestamp")}
    unreadable, ignored = 0, set()
    for rec in ok.iter_rows(named=True):
        try:
            columns, rows = to_columns(json.loads(rec["request"] or "null"))
            predictions = json.loads(rec["response"] or "null")["predictions"]
            served = json.loads(rec.get("served_features") or "null")
        except (PayloadError, ValueError, TypeError, KeyError, RecursionError):
            unreadable += 1
            continue
        sources = ["request"] * rows
        if isinstance(served, dict) and len(served.get("features_from") or []) == rows:
            columns = {**columns, **served.get("columns", {})}
            sources = served["features_from"]
        if len(predictions) != rows:
            unreadable += 1
            continue
        known = (*model.features, *model.id_columns)
        ignored.update(c for c in columns if c not in known)
        for name in (
            "request_id",
            "client_request_id",
            "timestamp",
            "date",
            "model_name",
            "model_version",
        ):
            cols[name].extend([rec[name]] * rows)
        cols["row_index"].extend(range(rows))
        for key in model.id_columns:
            ids = columns.get(key, [None] * rows)
            cols[key].extend(None if v is MISSING or v is None else _text(v) for v in ids)
        for name in model.features:
            values = columns.get(name, [None] * rows)
            cols[name].extend(_number(v) for v in values)
        cols["features_from"].extend(sources)
        cols["prediction"].extend(_number(p) for p in predictions)
    frame = pl.DataFrame(cols, schema={k: v for k, v in schema.items() if k in cols})
    counts = {
        "unpacked_requests": ok.height - unreadable,
        "unreadable_requests": unreadable,
        "failed_requests": payload.height - ok.height,
        "ignored_columns": sorted(ignored),
    }
    return frame, counts


def _text(value) -> str:
    """A value as text a Delta string holds: a lone surrogate (logged by servers before they
    refused them) becomes its escape, e.g. the six characters `\\ud800`."""
    text = str(value)
    if _SURROGATE.search(text):
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def judged_labels(settings: Settings, served: ServedModel) -> pl.DataFrame:
    """Every label (one per identifier and time) in the inference table's types: the
    identifiers, label, label_timestamp (UTC)."""
    keys = list(served.id_columns)
    schema = {c: served.inference.schema[c] for c in (*keys, "label", "label_timestamp")}
    labels = served.labels(settings) if served.labels else None
    if labels is None or not keys:
        return pl.DataFrame(schema=schema)
    stamp = pl.col("label_timestamp")
    if labels.schema["label_timestamp"].time_zone is None:
        stamp = stamp.dt.replace_time_zone("UTC")
    return (
        labels.filter(pl.col("label_timestamp").is_not_null())
        .select(*keys, "label", stamp)
        .cast(schema)
        .unique([*keys, "label_timestamp"], keep="last", maintain_order=True)
        .sort("label_timestamp")
    )


def judging_labels(rows: pl.DataFrame, labels: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """`rows` (identifiers, timestamp, ...) with the first label at or after each timestamp."""
    if not keys:
        return rows.with_columns(
            pl.lit(None, labels.schema["label"]).alias("label"),
            pl.lit(None, labels.schema["label_timestamp"]).alias("label_timestamp"),
        )
    return (
        rows.with_row_index("__row")
        .sort("timestamp")
        .join_asof(
            labels,
            left_on="timestamp",
            right_on="label_timestamp",
            by=list(keys),
            strategy="forward",
            check_sortedness=False,
            coalesce=False,
        )
        .sort("__row")
        .drop("__row", *(f"{k}_right" for k in keys), strict=False)
    )


class InferenceTable:
    """Updates of a model's inference table (`serving/<model>_inference`) from its payload
    table."""

    def __init__(self, settings: Settings, served: ServedModel):
        self.settings = settings
        self.served = served
        self.schema = served.inference.schema
        self.payload = served.payload.store(settings)
        self.target = served.inference.store(settings)

    def run(self) -> InferenceRun:
        done = self.target.committed_batch()  # payload versions consumed + 1 (0: none yet)
        start = done - 1 if done > 0 else None
        end = self.payload.version()
        run = InferenceRun(batch_id=done, start_version=start, end_version=end)
        labels = judged_labels(self.settings, self.served)
        if end is None or end == start:
            run.nothing_new = True
            if not self.target.exists():  # a fresh home: create the table with its schema
                self.target.write(
                    pl.DataFrame(schema=self.schema),
                    0,
                    comment="One row per prediction of the serving endpoint.",
                )
        else:
            files = self.payload.added_files(start, end)
            # files written before `served_features` existed lack it: concatenated diagonally
            payload = (
                pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
                if files
                else pl.DataFrame()
            )
            frame, counts = unpack(payload, self.served) if files else (pl.DataFrame(), {})
            for key, value in counts.items():
                setattr(run, key, value)
            run.requests = payload.height
            frame = self._with_labels(frame, labels)
            run.batch_id = end + 1
            self.target.write(
                frame,
                run.batch_id,
                comment="One row per prediction of the serving endpoint.",
                evolve_schema=True,  # a table from before `features_from` gains the column
            )
            run.rows_appended = frame.height
        run.labels_filled = self.fill_labels(labels)
        return run

    def _with_labels(self, frame: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
        if frame.is_empty():
            return pl.DataFrame(schema=self.schema)
        return judging_labels(frame, labels, self.served.id_columns).select(
            [pl.col(k).cast(v) for k, v in self.schema.items()]
        )

    def fill_labels(self, labels: pl.DataFrame) -> int:
        """Set on every row the first label at or after its time; return rows updated."""
        keys = self.served.id_columns
        if labels.is_empty() or not self.target.exists() or not keys:
            return 0
        current = (
            self.target.scan()
            .select("request_id", "row_index", *keys, "timestamp", "label", "label_timestamp")
            .collect()
        )
        judged = judging_labels(current.drop("label", "label_timestamp"), labels, keys).rename(
            {"label": "label_new", "label_timestamp": "label_timestamp_new"}
        )
        stale = pl.concat(
            [current, judged.select("label_new", "label_timestamp_new")], how="horizontal"
        )
        source = stale.filter(
            pl.col("label_new").is_not_null()
            & (
                pl.col("label").ne_missing(pl.col("label_new"))
                | pl.col("label_timestamp").ne_missing(pl.col("label_timestamp_new"))
            )
        ).select(
            "request_id",
            "row_index",
            pl.col("label_new").alias("label"),
            pl.col("label_timestamp_new").alias("label_timestamp"),
        )
        if source.is_empty():
            return 0
        result = self.target.merge(
            source,
            None,  # idempotent: it sets each row's judging label, whichever run does it
            "t.request_id = s.request_id AND t.row_index = s.row_index",
            lambda m: m.when_matched_update(
                {"label": "s.label", "label_timestamp": "s.label_timestamp"}
            ),
        )
        return int(result.get("num_target_rows_updated", 0))
