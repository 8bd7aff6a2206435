"""The model lifecycle of a project's declared models: train, evaluate against the champion,
promote and roll back.

A project declares each model as a `ModelLifecycle` (`mlplatform.training.lifecycle`) and gets
its Dagster definitions from `lifecycle_definitions` (`mlplatform.training.definitions`). MLflow
is the tracking store and model registry (aliases `challenger`, `champion` and
`previous_champion`); Dagster runs the steps as assets, checks, a sensor-gated promotion job and
a schedule.
"""
