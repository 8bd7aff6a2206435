"""The embedded engine: polars frames, expectations through pandera's polars backend."""

from __future__ import annotations

import polars as pl

from mlplatform.lakehouse.engines import polars_sql
from mlplatform.lakehouse.engines.base import (
    INGESTED_AT,
    ROW_ID,
    EngineEvaluation,
    FilesRead,
    SqlQuery,
)
from mlplatform.lakehouse.expectations import FAILED_EXPECTATIONS, QUARANTINED_AT, evaluate
from mlplatform.lakehouse.json_lines import parse_files


class PolarsEngine:
    """Runs table updates in this process with polars."""

    name = "polars"

    def read_files(self, paths, fields, mode, ingested_at) -> FilesRead:
        parsed = parse_files(paths, fields, mode)
        stamp = pl.repeat(ingested_at, parsed.frame.height, eager=True)
        # a Series, not with_columns(lit): the parsed frame has a chunk per streamed morsel
        frame = parsed.frame.hstack([stamp.cast(pl.Datetime("us", "UTC")).alias(INGESTED_AT)])
        return FilesRead(frame, _parse_counts(parsed, len(paths)))

    def read_increment(self, store, start, end):
        written = store.written_frame(start, end)
        if written is not None:
            return written
        end_schema = store.scan(end).collect_schema()
        files = store.added_files(start, end)
        if not files:
            return pl.DataFrame(schema=end_schema)
        return store.scan_files(files, end_schema).collect()

    def read_table(self, store, version):
        written = store.written_frame(None, version)
        return written.lazy() if written is not None else store.scan(version)

    def empty_like(self, store):
        return store.scan().head(0).collect()  # the schema, without reading the rows

    def read_quarantine(self, store, version):
        return store.read(version).drop(FAILED_EXPECTATIONS, QUARANTINED_AT)

    def with_row_id(self, frame):
        return frame.with_row_index(ROW_ID)

    def run_function(self, defn, frames, has_lineage):
        lazy = [f.lazy() for f in frames]
        out = defn.func(*lazy)
        if isinstance(out, SqlQuery):
            names = defn.param_names
            query = (out.with_lineage() if has_lineage else None) or out.text
            out = polars_sql.execute(query, dict(zip(names, lazy, strict=True)))
        if isinstance(out, pl.LazyFrame):
            out = out.collect(engine="streaming")  # morsels on every core
        if not isinstance(out, pl.DataFrame):
            raise TypeError(
                f"table {defn.key}: the function returned {type(out).__name__}; on the polars "
                "engine return a polars DataFrame or LazyFrame, or sql('SELECT ...')"
            )
        return out

    def evaluate(self, frame, defn, source) -> EngineEvaluation:
        ev = evaluate(frame, defn.expectations, defn.key)
        kept = _project(ev.kept, defn)
        q = ev.quarantined
        if source is not None and ROW_ID in q.columns:
            # row ids are positions in the source (with_row_id): the source rows by position
            rows = source.drop(ROW_ID).gather(q.get_column(ROW_ID))
            q = rows.with_columns(q.get_column(FAILED_EXPECTATIONS))
        q = q.drop(ROW_ID, strict=False)
        return EngineEvaluation(kept, q, ev.results, len(kept), len(q), ev.dropped_records)

    def stamp(self, frame, column, ts):
        return frame.with_columns(pl.lit(ts).cast(pl.Datetime("us", "UTC")).alias(column))

    def write(self, store, frame, batch_id, mode, comment=None, evolve=False) -> int:
        return store.write(frame, batch_id, mode=mode, comment=comment, evolve_schema=evolve)


def _project(df: pl.DataFrame, defn) -> pl.DataFrame:
    if defn.columns:
        missing = [c for c in defn.columns if c not in df.columns]
        if missing:
            raise ValueError(f"table {defn.key}: the function's result lacks columns {missing}")
        return df.select(defn.columns)
    return df.drop(ROW_ID, strict=False)


def _parse_counts(parsed, files: int) -> dict:
    return {
        "files": files,
        "rows": parsed.rows,
        "rescued_rows": parsed.rescued_rows,
        "malformed_rows": parsed.malformed_rows,
        "blank_lines_skipped": parsed.blank_lines,
        "new_columns": parsed.new_columns,
        "ignored_fields": parsed.ignored_fields,
        "invalid_utf8_lines": parsed.invalid_utf8_lines,
    }
