"""The feature store: feature tables (keys, timestamp key, documented features), point-in-time
training sets and the online store. Generic machinery; a project declares its own feature
tables (the demo's are in `examples/`)."""
