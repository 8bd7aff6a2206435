"""Model serving: the HTTP scoring server, its inference logger and the inference table."""
