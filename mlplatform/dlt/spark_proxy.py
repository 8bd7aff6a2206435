"""The ``spark`` global a DLT file expects, as a lazy proxy: no JVM starts when the file loads.

``spark.readStream.format("cloudFiles")...load(path)`` returns the batch that mlplatform's
incremental file ingestion prepared; ``spark.read.table`` / ``spark.readStream.table`` of a pipeline
dataset return its frame; anything else goes to the real session, started on first use.
"""

from __future__ import annotations

from mlplatform.dlt import runtime


class _Reader:
    def __init__(self, stream: bool):
        self._stream = stream
        self._format: str | None = None
        self._calls: list[tuple[str, tuple, dict]] = []

    def format(self, source: str):
        self._format = source
        self._calls.append(("format", (source,), {}))
        return self

    def __getattr__(self, name):
        if name in ("option", "options", "schema"):

            def record(*args, **kwargs):
                self._calls.append((name, args, kwargs))
                return self

            return record
        raise AttributeError(name)

    def load(self, path=None, **kwargs):
        if self._format == "cloudFiles":
            return runtime.cloud_files_frame()
        return self._replay().load(path, **kwargs)

    def table(self, name: str):
        try:
            return runtime.resolve(name, stream=self._stream)
        except runtime.DltRuntimeError:
            return self._replay().table(name)

    def _replay(self):
        from mlplatform.lakehouse.engines.spark_session import get_spark_session

        session = get_spark_session()
        reader = session.readStream if self._stream else session.read
        for name, args, kwargs in self._calls:
            reader = getattr(reader, name)(*args, **kwargs)
        return reader


class _Conf:
    """``spark.conf``: the pipeline's ``configuration`` first (no JVM needed), then the session."""

    def get(self, key: str, *default):
        values = runtime.current_configuration()
        if values is not None and key in values:
            return values[key]
        if values is not None and not key.startswith("spark."):
            if default:
                return default[0]  # a pipeline setting left unset: no session needed
            raise runtime.DltRuntimeError(
                f"spark.conf.get({key!r}): the pipeline's configuration has no {key!r} "
                "(set it under the pipeline's configuration, or pass a default)"
            )
        from mlplatform.lakehouse.engines.spark_session import get_spark_session

        return get_spark_session().conf.get(key, *default)

    def __getattr__(self, name):
        from mlplatform.lakehouse.engines.spark_session import get_spark_session

        return getattr(get_spark_session().conf, name)


class SparkProxy:
    """Stands for the notebook's ``spark`` session."""

    @property
    def conf(self):
        return _Conf()

    @property
    def readStream(self):  # noqa: N802 (Spark's name)
        return _Reader(stream=True)

    @property
    def read(self):
        return _Reader(stream=False)

    def table(self, name: str):
        return _Reader(stream=False).table(name)

    def __getattr__(self, name):
        from mlplatform.lakehouse.engines.spark_session import get_spark_session

        return getattr(get_spark_session(), name)

    def __repr__(self) -> str:
        return "<mlplatform lazy spark session proxy>"


spark = SparkProxy()
