"""The feature store: feature tables (keys, timestamp key, documented features), point-in-time
training sets and the online store. Generic machinery; the customer tables live in
`mlplatform.customers`."""
