"""mlplatform: the Dagster-based ML lakehouse. `mlplatform.Bundle` is the `dg` component of a
project (`type: mlplatform.Bundle` in a `defs.yaml`)."""


def __getattr__(name: str):
    if name == "Bundle":  # imported on use: `import mlplatform` stays light
        from mlplatform.project.component import Bundle

        return Bundle
    raise AttributeError(f"module 'mlplatform' has no attribute {name!r}")
