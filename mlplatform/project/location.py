"""A project as one Dagster code location:

    MLPLATFORM_PROJECT=path/to/project MLPLATFORM_TARGET=dev \\
        dagster dev -m mlplatform.project.location
    dagster asset materialize -m mlplatform.project.location --select '*'

`MLPLATFORM_PROJECT` names the project folder (default: `examples/customer_churn` of the
repository), `MLPLATFORM_TARGET` the target (default: the bundle's default target).
`mlplatform bundle deploy -t dev` registers a location of this kind in the local workspace.
"""

from pathlib import Path

from mlplatform.project.definitions import load_definitions
from mlplatform.settings.variables import PROJECT, TARGET

DEFAULT_PROJECT = Path(__file__).resolve().parents[2] / "examples" / "customer_churn"

defs = load_definitions(PROJECT.value() or DEFAULT_PROJECT, TARGET.value())
