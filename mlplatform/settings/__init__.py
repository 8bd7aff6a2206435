"""Environment settings (the one environment switch): where the platform keeps its data, which
environment and engine it runs, and every ``MLPLATFORM_*`` variable.

``variables`` holds every variable (name, type, default, doc) and is the only module that reads
them; ``platform_settings`` builds the ``Settings`` of a process from them and owns the table
root (a local folder or an object-store location with its storage options).
"""

from mlplatform.settings.errors import SettingsError
from mlplatform.settings.platform_settings import (
    ENGINES,
    ENVIRONMENTS,
    Settings,
    get_settings,
    home_folder,
    parse_storage_options,
    table_root,
)
from mlplatform.settings.variables import VARIABLES, Variable, env_number

__all__ = [
    "ENGINES",
    "ENVIRONMENTS",
    "VARIABLES",
    "Settings",
    "SettingsError",
    "Variable",
    "env_number",
    "get_settings",
    "home_folder",
    "parse_storage_options",
    "table_root",
]
