"""The polars engine's SQL: the timestamp-cast fast path gives polars' own cast results."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from mlplatform.lakehouse.engines.polars_sql import HIDDEN, execute

VALUES = [
    "2026-08-03T00:00:01",
    None,
    "2026-08-03 00:00:01",
    "2026-08-03T00:00:01.5",
    "2026-08-03",
    "2026-08-03T00:00:01Z",
    "2026/08/03 00:00:01",
    "not a date",
    "",
    "2026-13-45T00:00:00",
    " 2026-08-03T00:00:01",
    "2026-8-3 1:2:3",
]
EVENTS = pl.DataFrame({"id": range(len(VALUES)), "ts": VALUES}, schema_overrides={"ts": pl.String})


def plain(query: str, frame: pl.DataFrame) -> pl.DataFrame:
    return pl.SQLContext({"events": frame.lazy()}).execute(query).collect()


def test_the_fast_path_gives_the_same_timestamps_as_polars_cast():
    query = "SELECT id, TRY_CAST(ts AS TIMESTAMP) AS event_timestamp FROM events"
    out = execute(query, {"events": EVENTS.lazy()}).collect()
    assert out.columns == ["id", "event_timestamp"]  # no helper column leaks
    assert out.equals(plain(query, EVENTS))
    assert out.get_column("event_timestamp").to_list()[:4] == [
        datetime(2026, 8, 3, 0, 0, 1),
        None,
        datetime(2026, 8, 3, 0, 0, 1),
        datetime(2026, 8, 3, 0, 0, 1, 500000),
    ]
    plan = execute(query, {"events": EVENTS.lazy()}).explain()
    assert f"{HIDDEN}fast_ts" in plan  # the known format is parsed directly


def test_iso_values_parse_even_when_the_first_value_is_in_another_family():
    frame = pl.DataFrame({"ts": ["03/08/2026 00:00:01", "2026-08-03T00:00:01"]})
    query = "SELECT TRY_CAST(ts AS TIMESTAMP) AS t FROM events"
    assert plain(query, frame).get_column("t").to_list()[1] is None  # polars' inference
    out = execute(query, {"events": frame.lazy()}).collect().get_column("t").to_list()
    assert out == [datetime(2026, 8, 3, 0, 0, 1), datetime(2026, 8, 3, 0, 0, 1)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT *, TRY_CAST(ts AS TIMESTAMP) AS t FROM events",
        "SELECT id FROM events WHERE TRY_CAST(ts AS TIMESTAMP) IS NOT NULL",  # not aliased
        "SELECT id, 'TRY_CAST(ts AS TIMESTAMP) AS x' AS note FROM events",  # a literal
        "SELECT id, TRY_CAST(id AS TIMESTAMP) AS t FROM events",  # not text
    ],
)
def test_other_queries_keep_their_meaning(query):
    out = execute(query, {"events": EVENTS.lazy()}).collect()
    assert not [c for c in out.columns if c.startswith(HIDDEN)]
    assert out.equals(plain(query, EVENTS))


def test_queries_over_several_inputs_are_left_to_polars():
    other = pl.DataFrame({"id": [0, 1], "ts": ["2026-01-01T00:00:00", "x"]})
    query = (
        "SELECT e.id, TRY_CAST(o.ts AS TIMESTAMP) AS t FROM events e JOIN other o ON e.id = o.id"
    )
    out = execute(query, {"events": EVENTS.lazy(), "other": other.lazy()}).collect()
    assert out.sort("id").get_column("t").to_list() == [datetime(2026, 1, 1), None]
