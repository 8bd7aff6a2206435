"""mlplatform: the Dagster-based ML lakehouse.

`mlplatform.Bundle` is the `dg` component of a project (`type: mlplatform.Bundle` in a
`defs.yaml`, with `mlplatform` among the `dg` project's `registry_modules`); it is imported on
first use, so `import mlplatform` stays light.
"""

_LAZY = {"Bundle": "mlplatform.project.component"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlplatform' has no attribute {name!r}")


def __dir__() -> list[str]:  # dg's registry lists a module's components through dir()
    return sorted(set(globals()) | set(_LAZY))
