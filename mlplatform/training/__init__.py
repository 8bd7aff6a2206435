"""The churn model's lifecycle: train, evaluate against the champion, promote and roll back.

MLflow is the tracking store and model registry (registered model `churn_predictor`, aliases
`challenger`, `champion` and `previous_champion`); Dagster runs the steps as assets, checks, a
sensor-gated promotion job and schedules.
"""
