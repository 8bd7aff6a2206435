"""What ``dlt.read``, ``dlt.read_stream`` and ``spark.readStream...load`` return while a query
function runs: the frames the table runner prepared for this update."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from mlplatform.dlt.analysis import strip_live

_STATE = threading.local()


class DltRuntimeError(RuntimeError):
    """A dataset was read that the pipeline does not know, or outside an update."""


@contextmanager
def update_context(reads: dict, streams: dict, files, views: dict):
    """Make the prepared frames visible to the query function for the duration of the call."""
    previous = getattr(_STATE, "frames", None)
    _STATE.frames = {"read": reads, "stream": streams, "files": files, "views": views}
    try:
        yield
    finally:
        _STATE.frames = previous


def current_frames() -> dict:
    """The frames of the running update, by how they are read (``read``, ``stream``, ``files``,
    ``views``); a clear error outside an update."""
    frames = getattr(_STATE, "frames", None)
    if frames is None:
        raise DltRuntimeError(
            "dlt.read/read_stream can only be called inside a dataset's query function while "
            "mlplatform runs it (materialize the asset with dagster)"
        )
    return frames


def resolve(name: str, stream: bool):
    frames = current_frames()
    name = strip_live(name)
    if name in frames["views"]:
        return frames["views"][name]()
    table = frames["stream" if stream else "read"]
    if name in table:
        return table[name]
    other = frames["read" if stream else "stream"]
    if name in other:
        return other[name]
    raise DltRuntimeError(f"dataset {name!r} is not an input of this query function")


def cloud_files_frame():
    frame = current_frames()["files"]
    if frame is None:
        raise DltRuntimeError("this query function has no cloudFiles source")
    return frame


@contextmanager
def configuration(values: dict[str, str]):
    """Make a pipeline's ``configuration`` what ``spark.conf.get`` answers inside the block (its
    files loading, or one of its query functions running)."""
    previous = getattr(_STATE, "configuration", None)
    _STATE.configuration = dict(values)
    try:
        yield
    finally:
        _STATE.configuration = previous


def current_configuration() -> dict[str, str] | None:
    """The configuration of the pipeline loading or running in this thread (None: none)."""
    return getattr(_STATE, "configuration", None)
