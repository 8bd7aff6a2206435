"""Names shared by the renderer and the development-mode code location (import-light)."""

from __future__ import annotations

DEFINITIONS_ENV = "MLPLATFORM_DEPLOY_DEFINITIONS"
DEFAULT_DEFINITIONS = "mlplatform.definitions:defs"
DEV_LOCATION_MODULE = "mlplatform.deployment.dev_location"
