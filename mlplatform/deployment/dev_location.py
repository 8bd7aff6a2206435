"""The code location a development-mode deployment serves: the real definitions, automation paused.

A bundle in mode development (like a Databricks bundle's dev mode) must not start a developer's
schedules and sensors. Names, asset keys and paths stay as they are; only every schedule's and
sensor's default status becomes STOPPED, so nothing runs until someone starts it in the UI. The
Helm values of the dev target point `dagster api grpc` at this module and name the wrapped
definitions in `MLPLATFORM_DEPLOY_DEFINITIONS` (`module:attribute`).
"""

from __future__ import annotations

from mlplatform.deployment.pause import load_definitions, paused
from mlplatform.settings.variables import DEPLOY_DEFINITIONS

defs = paused(load_definitions(DEPLOY_DEFINITIONS.value()))
