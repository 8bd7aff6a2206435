"""mlplatform's definitions without the table-quality checks (freshness, completeness), for runs
on an object-store table root: those checks open each table's Delta history by its path alone,
without the storage options, so they cannot reach ``s3://`` yet (mlplatform.monitoring's
table_quality.commits). Everything else, the medallion assets and their expectation checks
included, is the project's own."""

import dagster as dg

from mlplatform import definitions as full

defs = dg.Definitions(
    assets=full.all_assets,
    asset_checks=[full.churn_model_checks, *full.drift_checks, *full.online_checks],
    resources=full.defs.resources,
    executor=dg.in_process_executor,
)
