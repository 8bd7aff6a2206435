"""The demo project's Python code: the customer-events pipeline (bronze, silver, gold, labels),
the feature history, the churn and spend training sets, the online publish, the two models'
declarations (`models`), the file-arrival sensor, the demo data generator and `definitions`, the
entry the bundle names. Written only against mlplatform's public API.
"""
