"""The customer-events pipeline: bronze ingestion, silver cleaning, gold ML features."""
