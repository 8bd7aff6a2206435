"""The declarative table layer (engine-agnostic, domain-free)."""

from mlplatform.lakehouse.errors import MissingFileError, TableBusyError

__all__ = ["MissingFileError", "TableBusyError"]
