"""A leftover import path: `mlplatform.monitoring` reads `model_input` here until it takes the
project's `QualityMonitor`; the demo's pipeline itself is a project under `examples/`."""
