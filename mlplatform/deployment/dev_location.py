"""The code location a development-mode deployment serves: the real definitions, automation paused.

A bundle in mode development (like a Databricks bundle's dev mode) must not start a developer's
schedules and sensors. Names, asset keys and paths stay as they are; only every schedule's and
sensor's default status becomes STOPPED, so nothing runs until someone starts it in the UI. The
Helm values of the dev target point `dagster api grpc` at this module and name the wrapped
definitions in `MLPLATFORM_DEPLOY_DEFINITIONS` (`module:attribute`).
"""

from __future__ import annotations

import os

from mlplatform.deployment.names import DEFAULT_DEFINITIONS, DEFINITIONS_ENV
from mlplatform.deployment.pause import load_definitions, paused

defs = paused(load_definitions(os.environ.get(DEFINITIONS_ENV) or DEFAULT_DEFINITIONS))
