"""The task process: `python -m mlplatform.jobs.runner`, started through Dagster Pipes.

It reads what to run from the Pipes extras, gives the code `dbutils`, `spark`, `display` and
`displayHTML` as globals (Spark starts only for code that mentions it) and reports task values
(`{"value": [key, value]}`) and the exit value (`{"exit": text}`) as Pipes custom messages.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlplatform.jobs.dbutils import DBUtils, JobInfo, NotebookExit
from mlplatform.jobs.notebooks import (
    SPARK_WORD,
    Cell,
    find_notebook,
    mentions_spark,
    read_cells,
)


class LazySpark:
    """`spark` for code that never names it: a session starts only on first use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_session(), name)


def _session():
    from mlplatform.lakehouse.engines.spark_session import get_spark_session

    return get_spark_session()


def display(obj: Any, *args: Any, **kwargs: Any) -> None:
    """Show a DataFrame (Spark's first rows, polars or pandas as text) or any value."""
    if hasattr(obj, "show") and hasattr(obj, "schema"):
        obj.show(truncate=False)
    else:
        sys.stdout.write(f"{obj}\n")


def displayHTML(html: str) -> None:  # noqa: N802
    """Print HTML (no browser here)."""
    sys.stdout.write(f"{html}\n")


class NotebookRunner:
    """Runs notebooks (and `%run` / `dbutils.notebook.run` of others) for one task."""

    def __init__(
        self,
        job: JobInfo | None,
        base: Path,
        dbfs_root: Path | None = None,
        secrets_root: Path | None = None,
    ):
        self.job = job
        self.base = base
        self.dbfs_root = dbfs_root
        self.secrets_root = secrets_root

    def globals_for(self, widgets: dict[str, str], cells: list[Cell]) -> dict[str, Any]:
        return {
            "__name__": "__main__",
            "dbutils": DBUtils(
                widgets, self.job, self.run_child, self.dbfs_root, self.secrets_root
            ),
            "spark": _session() if mentions_spark(cells) else LazySpark(),
            "display": display,
            "displayHTML": displayHTML,
        }

    def run(self, path: Path, widgets: dict[str, str]) -> str | None:
        """Run the notebook at `path`; its `dbutils.notebook.exit` value, or None."""
        cells = read_cells(path)
        namespace = self.globals_for(widgets, cells)
        try:
            self.exec_cells(path, cells, namespace)
        except NotebookExit as done:
            return done.value
        return None

    def run_child(self, path: str, timeout_seconds: int, arguments: dict) -> str:
        """`dbutils.notebook.run`: another notebook in its own namespace; its exit value."""
        found = find_notebook(path, self.base)
        value = self.run(found, {k: str(v) for k, v in arguments.items()})
        return "" if value is None else value

    def exec_cells(self, path: Path, cells: list[Cell], namespace: dict[str, Any]) -> None:
        for cell in cells:
            if cell.kind == "python":
                code = compile("\n" * (cell.line - 1) + cell.text, str(path), "exec")
                exec(code, namespace)  # noqa: S102 (running the user's notebook is the point)
            elif cell.kind == "sql":
                if "spark" not in namespace or isinstance(namespace["spark"], LazySpark):
                    namespace["spark"] = _session()
                for statement in [s for s in cell.text.split(";") if s.strip()]:
                    result = namespace["spark"].sql(statement)
                namespace["_sqldf"] = result
                display(result)
            elif cell.kind == "run":
                target = find_notebook(cell.text.split()[0], path.parent)
                self.exec_cells(target, read_cells(target), namespace)
            elif cell.kind == "pip":
                pip_install(cell.text.split())
            elif cell.kind == "sh":
                subprocess.run(cell.text, shell=True, check=True)  # noqa: S602


def pip_install(args: list[str]) -> None:
    """`%pip install ...` into this task's environment (uv when present, else pip)."""
    if args and args[0] == "install":
        args = args[1:]
    uv = shutil.which("uv")
    command = (
        [uv, "pip", "install", "--python", sys.executable, *args]
        if uv
        else [sys.executable, "-m", "pip", "install", *args]
    )
    subprocess.run(command, check=True)
    importlib.invalidate_caches()


def run_python_file(path: Path, argv: list[str], job: JobInfo | None) -> None:
    """A `spark_python_task`: the file as `__main__` with `argv`, `spark` and `dbutils` given."""
    text = path.read_text()
    sys.argv = [str(path), *argv]
    init = {
        "dbutils": DBUtils({}, job),
        "spark": _session() if SPARK_WORD.search(text) else LazySpark(),
        "display": display,
        "displayHTML": displayHTML,
    }
    runpy.run_path(str(path), init_globals=init, run_name="__main__")


def run_entry_point(package: str, entry_point: str, argv: list[str]) -> None:
    """A `python_wheel_task`: the package's entry point named `entry_point` (any group), else
    the function `package.entry_point`."""
    sys.argv = [package, *argv]
    dist_name = package.replace("_", "-")
    found = None
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").replace("_", "-").lower()
        if name == dist_name.lower():
            found = next((ep for ep in dist.entry_points if ep.name == entry_point), None)
            break
    function = found.load() if found else getattr(importlib.import_module(package), entry_point)
    result = function()
    if isinstance(result, int) and result != 0:
        raise SystemExit(result)


def run(extras: dict[str, Any], job: JobInfo) -> str | None:
    """Run what `extras` names; the notebook's exit value (None for other kinds)."""
    base = Path(extras["base"])
    dbfs = Path(extras["dbfs_root"]) if extras.get("dbfs_root") else None
    secrets = Path(extras["secrets_root"]) if extras.get("secrets_root") else None
    if extras["kind"] == "notebook":
        path = find_notebook(extras["path"], base)
        runner = NotebookRunner(job, path.parent, dbfs, secrets)
        return runner.run(path, extras.get("widgets", {}))
    if extras["kind"] == "python_file":
        path = Path(extras["path"])
        run_python_file(path if path.is_absolute() else base / path, extras["argv"], job)
        return None
    run_entry_point(extras["package_name"], extras["entry_point"], extras["argv"])
    return None


def main() -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        extras = dict(pipes.extras)

        def on_set(key: str, value: Any) -> None:
            pipes.report_custom_message({"value": [key, value]})

        job = JobInfo(extras["task_key"], extras.get("upstream_values", {}), on_set)
        output = run(extras, job)
        if output is not None:
            pipes.report_custom_message({"exit": output})


if __name__ == "__main__":
    main()
