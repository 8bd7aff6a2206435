"""The `dbutils` a task's notebook gets: widgets, jobs.taskValues, notebook.exit/run and fs
over local paths. Outside a job (`job=None`), taskValues.get returns `debugValue`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplatform.jobs.errors import TaskValueError
from mlplatform.jobs.secrets import Secrets
from mlplatform.jobs.values import checked


class NotebookExit(Exception):  # noqa: N818 (control flow, not an error)
    """Raised by `dbutils.notebook.exit(value)`: the task ends, `value` is its output."""

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


class InputWidgetNotDefined(Exception):  # noqa: N818 (the name Databricks' notebooks raise)
    """A widget read before it was defined and with no value passed to the task."""


@dataclass
class JobInfo:
    """The job run a notebook runs in: the task's key and the values upstream tasks set."""

    task_key: str
    upstream_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_set: Callable[[str, Any], None] | None = None


class Widgets:
    """`dbutils.widgets`: values passed to the task win over the defaults declared."""

    def __init__(self, bound: dict[str, str] | None = None):
        self._bound = dict(bound or {})
        self._defaults: dict[str, str] = {}

    def _define(self, name: str, default: str) -> None:
        self._defaults[name] = default

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803
        self._define(name, defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label=None) -> None:  # noqa: N803
        if defaultValue not in choices:
            raise ValueError(f"widget {name!r}: default {defaultValue!r} is not one of {choices}")
        self._define(name, defaultValue)

    def combobox(self, name: str, defaultValue: str, choices: list[str], label=None) -> None:  # noqa: N803
        self._define(name, defaultValue)

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label=None) -> None:  # noqa: N803
        self._define(name, defaultValue)

    def get(self, name: str) -> str:
        if name in self._bound:
            return str(self._bound[name])
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, optional: str | None = None) -> str | None:  # noqa: N802
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return optional

    def getAll(self) -> dict[str, str]:  # noqa: N802
        return self._defaults | {k: str(v) for k, v in self._bound.items()}

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:  # noqa: N802
        self._defaults.clear()


class TaskValues:
    """`dbutils.jobs.taskValues`."""

    def __init__(self, job: JobInfo | None):
        self._job = job
        self._own: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        """Set a value of this task (JSON-serializable, at most 48 KiB)."""
        value = checked(key, value)
        self._own[key] = value
        if self._job is not None and self._job.on_set is not None:
            self._job.on_set(key, value)

    _MISSING = object()

    def get(self, taskKey: str, key: str, default: Any = _MISSING, debugValue: Any = _MISSING):  # noqa: N803
        """A value set by task `taskKey` (a task key, not a notebook name).

        Outside a job: `debugValue`, or a TypeError when none is given. In a job: the value,
        else `default`, else a ValueError.
        """
        if self._job is None:
            if debugValue is self._MISSING:
                raise TypeError(
                    "taskValues.get outside a job: pass debugValue to use a value when the "
                    "notebook runs outside a job"
                )
            return debugValue
        if taskKey == self._job.task_key and key in self._own:
            return self._own[key]
        values = self._job.upstream_values.get(taskKey)
        if values is not None and key in values:
            return values[key]
        if default is not self._MISSING:
            return default
        if values is None:
            raise TaskValueError(f"taskValues.get: no task {taskKey!r} ran before this one")
        raise TaskValueError(f"taskValues.get: task {taskKey!r} set no value {key!r}")


class _Jobs:
    def __init__(self, job: JobInfo | None):
        self.taskValues = TaskValues(job)  # noqa: N815


class _Notebook:
    def __init__(self, run: Callable[[str, int, dict], str] | None):
        self._run = run

    def exit(self, value: Any) -> None:
        """End the notebook; `value` (as text) is the task's output."""
        raise NotebookExit(str(value))

    def run(self, path: str, timeout_seconds: int = 0, arguments: dict | None = None) -> str:
        """Run another notebook with `arguments` as its widgets; its exit value."""
        if self._run is None:
            raise RuntimeError("dbutils.notebook.run is available in a notebook task only")
        return self._run(path, timeout_seconds, dict(arguments or {}))


@dataclass(frozen=True)
class FileInfo:
    """An entry of `dbutils.fs.ls`."""

    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815


class Fs:
    """`dbutils.fs` over local paths (`file:/` and `dbfs:/` prefixes name local paths)."""

    def __init__(self, dbfs_root: Path | None = None):
        self._dbfs = dbfs_root

    def _path(self, path: str) -> Path:
        if path.startswith("dbfs:/"):
            if self._dbfs is None:
                raise ValueError(f"{path}: no dbfs root here")
            return self._dbfs / path.removeprefix("dbfs:/").lstrip("/")
        return Path(path.removeprefix("file:"))

    def ls(self, path: str) -> list[FileInfo]:
        folder = self._path(path)
        out = []
        for p in sorted(folder.iterdir()):
            stat = p.stat()
            name = p.name + ("/" if p.is_dir() else "")
            out.append(
                FileInfo(
                    str(p) + ("/" if p.is_dir() else ""),
                    name,
                    0 if p.is_dir() else stat.st_size,
                    int(stat.st_mtime * 1000),
                )
            )
        return out

    def mkdirs(self, path: str) -> bool:
        self._path(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        target = self._path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{path} exists (pass overwrite=True)")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(contents)
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803
        with open(self._path(path), "rb") as f:
            return f.read(maxBytes).decode(errors="replace")

    def cp(self, src: str, dst: str, recurse: bool = False) -> bool:
        source, target = self._path(src), self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{src} is a folder (pass recurse=True)")
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return True

    def mv(self, src: str, dst: str, recurse: bool = False) -> bool:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self._path(src), target)
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        target = self._path(path)
        if not target.exists():
            return False
        if target.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a folder (pass recurse=True)")
            shutil.rmtree(target)
        else:
            target.unlink()
        return True


class DBUtils:
    """`dbutils` for one task (or, with `job=None`, for a notebook run outside a job)."""

    def __init__(
        self,
        widgets: dict[str, str] | None = None,
        job: JobInfo | None = None,
        run_notebook: Callable[[str, int, dict], str] | None = None,
        dbfs_root: Path | None = None,
        secrets_root: Path | None = None,
    ):
        self.widgets = Widgets(widgets)
        self.secrets = Secrets(secrets_root)
        self.jobs = _Jobs(job)
        self.notebook = _Notebook(run_notebook)
        self.fs = Fs(dbfs_root)
