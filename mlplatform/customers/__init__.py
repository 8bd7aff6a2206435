"""The customer-events pipeline of the churn demo: landing files ingested into bronze, cleaned
into silver, aggregated into gold; the daily feature history, the churn training set and the
online publish built on them; the labels, the file-arrival sensor and the demo data generator.

Named for the data it holds (customers' events and labels), not "features": the feature list is
`mlplatform.catalog.FEATURES`, feature tables are `mlplatform.feature_store`, and the subset a
training run uses is `mlplatform.training.feature_selection`.
"""
