"""Where a Delta table lives: a local folder (``Path``) or a folder of an object store.

The table root (``MLPLATFORM_LAKEHOUSE``) may be a URI such as ``s3://bucket/lakehouse``; a table
under it is an ``ObjectLocation``, which joins its parts as a URI (never with ``pathlib``) and
carries the storage options (credentials, endpoint) deltalake and polars need to reach it. So a
``DeltaStore`` built from ``settings.table_path(layer, name)`` reaches the table without its
caller passing options. The settings own the root (``mlplatform.settings``); this module reads
no environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OBJECT_STORE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
"""URI schemes of the object stores deltalake reaches with storage options."""


@dataclass(frozen=True)
class ObjectLocation:
    """A folder of an object store (``s3://bucket/prefix``) and the options to reach it.

    It behaves like the part of ``Path`` the table layer uses (``/``, ``joinpath``, ``name``,
    ``parent``, ``mkdir``), so code that builds table locations works on both.
    """

    uri: str
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "uri", self.uri.rstrip("/"))

    @property
    def scheme(self) -> str:
        return self.uri.split("://", 1)[0]

    @property
    def storage_options(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    @property
    def parent(self) -> ObjectLocation:
        head, _, rest = self.uri.partition("://")
        parent = rest.rsplit("/", 1)[0] if "/" in rest else rest
        return ObjectLocation(f"{head}://{parent}", self.options)

    def joinpath(self, *parts: str) -> ObjectLocation:
        pieces = [str(p).strip("/") for p in parts if str(p).strip("/")]
        return ObjectLocation("/".join([self.uri, *pieces]), self.options)

    def __truediv__(self, part: str) -> ObjectLocation:
        return self.joinpath(part)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to create: an object store has no folders (a key prefix appears with its
        first object)."""

    def as_uri(self) -> str:
        return self.uri

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:  # the options hold credentials: never print them
        return f"ObjectLocation({self.uri!r})"


Location = Path | ObjectLocation


def is_object_uri(text: str) -> bool:
    """Whether ``text`` is a URI of an object store (``s3://...``)."""
    scheme, sep, _ = str(text).partition("://")
    return bool(sep) and scheme.lower() in OBJECT_STORE_SCHEMES


def as_location(value: Location | str, options: dict[str, str] | None = None) -> Location:
    """A ``Path``, an ``ObjectLocation``, or text: an object-store URI in text reaches its store
    with ``options`` (none given: none; ``Settings.location`` gives the settings' options),
    anything else is a local path."""
    if isinstance(value, (Path, ObjectLocation)):
        return value
    if is_object_uri(value):
        return ObjectLocation(value, tuple(sorted((options or {}).items())))
    return Path(value)


def location_uri(location: Location) -> str:
    """The text deltalake and polars open: the local path, or the object-store URI."""
    return location.uri if isinstance(location, ObjectLocation) else str(location)


def storage_options(location: Location) -> dict[str, str] | None:
    """The storage options of a location (None for a local folder)."""
    return location.storage_options if isinstance(location, ObjectLocation) else None
