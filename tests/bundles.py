"""Loading the test bundles under tests/data/bundles as one fixed user, with no environment."""

from pathlib import Path

from mlplatform.project.bundle import load_project

BUNDLES = Path(__file__).parent / "data" / "bundles"
GOOD = BUNDLES / "good"
USER = "jane.doe@example.com"


def load(folder: Path = GOOD, **kwargs):
    """`load_project` with no `BUNDLE_VAR_*` from the process and the user `USER`."""
    kwargs.setdefault("env", {})
    kwargs.setdefault("user_name", USER)
    return load_project(folder, **kwargs)


def write(folder: Path, text: str, name: str = "databricks.yml") -> Path:
    """Write a bundle file into `folder`; give the folder."""
    (folder / name).write_text(text)
    return folder
