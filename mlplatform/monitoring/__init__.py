"""Lakehouse Monitoring for any Delta table: a `QualityMonitor` (mlplatform.project.model) becomes
Dagster definitions (`monitor_defs.monitor_definitions`) that write
`<output_schema_name>.<table>_profile_metrics` and `_drift_metrics` with Lakehouse Monitoring's
columns (`refresh`, `lm_profile`, `lm_drift`), and the `quality-monitors` verbs (`commands`).

The incremental engine (`assets`, `profile`, `drift`, `windows`, `baseline`: windows recomputed
as inference rows arrive, baselines from each model version's training data, drift checks,
alerts, a dashboard and drift-triggered retraining) runs a monitor bound with
`monitor_defs.IncrementalBinding`.
"""
