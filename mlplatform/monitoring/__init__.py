"""Monitoring of the inference table: profile and drift metrics, drift checks, alerts, retraining.

The Lakehouse Monitoring equivalent: `monitoring/churn_predictor_inference_profile_metrics` and
`monitoring/churn_predictor_inference_drift_metrics` are Delta tables computed per time window and
model version, checks threshold the drift, and a sensor launches the training job when drift
persists.
"""
