"""A pipeline spec as one Dagster code location:

    MLPLATFORM_PIPELINE_SPEC=path/to/spark-pipeline.yml \
        dagster dev -m mlplatform.pipelines.code_location
    dagster asset materialize -m mlplatform.pipelines.code_location --select '*'

Without ``MLPLATFORM_PIPELINE_SPEC`` the spec is ``spark-pipeline.yml`` of the current folder.
"""

from mlplatform.pipelines.spec import find_spec, load
from mlplatform.settings.variables import PIPELINE_SPEC

defs = load(PIPELINE_SPEC.value() or find_spec()).pipeline.definitions()
