"""Freshness and completeness of every Delta table (Databricks' data quality monitoring):
`judge` learns each table's cadence and commit sizes from its Delta history and gives verdicts,
`checks` makes them Dagster asset checks and the `monitoring/table_quality` asset, `store`
appends the verdicts to that table. Model quality is `mlplatform.monitoring.model_quality`."""
