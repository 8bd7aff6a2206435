"""Names shared by the renderer and the development-mode code location (import-light)."""

from __future__ import annotations

from mlplatform.settings.variables import DEPLOY_DEFINITIONS

DEFINITIONS_ENV = DEPLOY_DEFINITIONS.name
DEFAULT_DEFINITIONS = DEPLOY_DEFINITIONS.default
DEV_LOCATION_MODULE = "mlplatform.deployment.dev_location"
