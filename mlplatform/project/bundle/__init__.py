"""The bundle reader: a project folder's `databricks.yml` -> a `Project` for one target.

`load_project` reads the bundle file, its `include`s, picks the target, resolves variables and
`${...}` references, applies the target's mode and presets, and builds the model's objects.
Problems are `BundleError` diagnostics and `Project.warnings`, each naming file, line and key.
"""

from mlplatform.project.bundle.errors import BundleError, Diagnostic
from mlplatform.project.bundle.load import load_project
from mlplatform.project.bundle.variables import parse_var_options

__all__ = ["BundleError", "Diagnostic", "load_project", "parse_var_options"]
