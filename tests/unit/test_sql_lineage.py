"""Which SQL table bodies keep row lineage: decided from the query's syntax tree (sqlglot), not
from words in its text."""

import pytest

from mlplatform.lakehouse.engines.base import ROW_ID, SqlQuery

ROW_WISE = [
    "SELECT customer_id, amount * 2 AS doubled FROM raw",
    "SELECT * FROM raw WHERE note <> 'no join, no group by'",  # words inside a string
    "SELECT joined_at, distinctive FROM raw",  # keywords inside names
    "select customer_id from raw where amount > 0",
]
NOT_ROW_WISE = [
    "SELECT customer_id, count(*) AS n FROM raw GROUP BY customer_id",
    "SELECT count(*) AS n FROM raw",  # an aggregate without GROUP BY
    "SELECT DISTINCT customer_id FROM raw",
    "SELECT a.customer_id FROM raw a JOIN other b ON a.customer_id = b.customer_id",
    "SELECT customer_id, row_number() OVER (ORDER BY amount) AS r FROM raw",
    "SELECT * FROM raw LIMIT 10",
    "SELECT * FROM raw UNION ALL SELECT * FROM other",
    "SELECT customer_id, explode(items) AS item FROM raw",
    "SELECT * FROM (SELECT customer_id, sum(amount) AS s FROM raw GROUP BY customer_id)",
    "SELECT FROM WHERE",  # does not parse
]


@pytest.mark.parametrize("query", ROW_WISE)
def test_a_row_wise_select_gets_the_row_id(query):
    lineage = SqlQuery(query).with_lineage()
    assert lineage is not None and lineage.split()[1] == f"{ROW_ID},"
    assert lineage.endswith(query.split(None, 1)[1])


@pytest.mark.parametrize("query", NOT_ROW_WISE)
def test_a_query_that_is_not_row_wise_keeps_no_lineage(query):
    assert SqlQuery(query).with_lineage() is None
