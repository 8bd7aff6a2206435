"""What the Spark executors need to run mlplatform's code, and the error when they lack it.

The executors parse landing files with the parser the polars engine uses (``json_lines``), in
Python workers started by the executors, in *their* Python. mlplatform's own code is shipped with
the session as a zip of this installation; polars and pyarrow are compiled libraries that cannot
be shipped that way, so the executors' Python must have them (the same versions as here).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

EXECUTOR_PACKAGES = ("polars", "pyarrow")
_MISSING = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


class ExecutorEnvironmentError(RuntimeError):
    """The Spark executors' Python cannot import a module mlplatform's parser needs."""


def mlplatform_zip() -> Path:
    """A zip of the installed ``mlplatform`` package's Python files (built once per content)."""
    package = Path(__file__).resolve().parents[2]
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(package.parent)).encode())
        digest.update(path.read_bytes())
    folder = Path(tempfile.gettempdir()) / "mlplatform-pyfiles"
    target = folder / f"mlplatform-{digest.hexdigest()[:16]}.zip"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{target.name}.{os.getpid()}"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
        for path in files:
            out.write(path, str(path.relative_to(package.parent)))
        # zipimport finds no namespace packages (mlplatform.lakehouse has no __init__.py)
        folders = {p.parent for p in files} - {p.parent for p in files if p.name == "__init__.py"}
        for folder in sorted(folders):
            out.writestr(str((folder / "__init__.py").relative_to(package.parent)), "")
    os.replace(partial, target)  # atomic: concurrent builders write the same content
    return target


def executor_import_error(err: Exception) -> ExecutorEnvironmentError | None:
    """The clear error for a Python worker failure that is a missing module, else None."""
    match = _MISSING.search(str(err))
    if match is None:
        return None
    module = match.group(1)
    needed = ", ".join(f"{name}=={version(name)}" for name in EXECUTOR_PACKAGES)
    return ExecutorEnvironmentError(
        f"the Spark executors' Python cannot import {module!r} (ModuleNotFoundError raised on an "
        f"executor). The executors parse landing files with mlplatform's parser and need "
        f"{needed} in their own Python; mlplatform's code is shipped with the session. Install "
        "them there, or point the executors at a Python that has them: on a cluster master the "
        "driver's PYSPARK_PYTHON (or spark.pyspark.python) names the executors' Python, over "
        "Spark Connect the server's PYSPARK_PYTHON does"
    )
