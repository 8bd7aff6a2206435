"""The nevers of the architecture, read from the source of every module (imports inside
functions and under `TYPE_CHECKING` count too).

The lakehouse is the bottom and knows no domain; the catalog sits on it and every domain reads
its names from the catalog, not from each other: serving knows no training code, monitoring no
serving or training code, and features know nothing of their consumers. Cross-domain wiring
(the drift sensor launching the training job) lives in `mlplatform.definitions`.
"""

import ast
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import mlplatform

PACKAGE = Path(mlplatform.__file__).parent
DOMAINS = ("features", "training", "serving", "monitoring", "feature_store")
NEVER = {
    "mlplatform.lakehouse": (*DOMAINS, "catalog"),
    "mlplatform.catalog": DOMAINS,
    "mlplatform.serving": ("training",),
    "mlplatform.monitoring": ("serving", "training"),
    "mlplatform.features": ("training", "serving", "monitoring"),
}
CATALOG_MAY_IMPORT = ("dagster", "polars", "mlplatform.settings", "mlplatform.lakehouse")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports (`from a import b` counts `a` and `a.b`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_every_module_was_read():
    assert "mlplatform.catalog" in MODULES
    assert "mlplatform.lakehouse.delta" in MODULES
    assert "mlplatform.monitoring.baseline" in MODULES


@pytest.mark.parametrize("package", sorted(NEVER))
def test_a_package_imports_none_of_its_nevers(package):
    forbidden = [f"mlplatform.{name}" for name in NEVER[package]]
    found = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, package)
        for name in names
        if any(within(name, f) for f in forbidden)
    )
    assert found == []


def test_the_catalog_imports_only_dagster_polars_settings_and_the_lakehouse():
    stdlib = sys.stdlib_module_names | {"__future__"}
    found = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, "mlplatform.catalog")
        for name in names
        if name.split(".")[0] not in stdlib
        and not within(name, "mlplatform.catalog")
        and not any(within(name, allowed) for allowed in CATALOG_MAY_IMPORT)
    )
    assert found == []


def test_the_catalog_is_cheap_to_import():
    heavy = ("deltalake", "pyarrow", "numpy", "pandas", "mlflow", "sqlglot", "scipy", "sklearn")
    code = (
        f"import sys, mlplatform.catalog; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_payload_arrow_schema_is_the_catalogs():
    from mlplatform.catalog import PAYLOAD
    from mlplatform.serving.payload_arrow import PAYLOAD_SCHEMA

    assert dict(pl.from_arrow(PAYLOAD_SCHEMA.empty_table()).schema) == PAYLOAD.schema


def test_every_delta_table_has_the_contract_path_key_and_app_id(tmp_path):
    from mlplatform.catalog import TABLES
    from mlplatform.settings import Settings

    settings = Settings(home=tmp_path, env="dev", engine="polars")
    for table in TABLES:
        assert table.path(settings) == tmp_path / "lakehouse" / table.layer / table.name
        assert table.asset_key.path == [table.layer, table.name]
        assert table.app_id == f"{table.layer}/{table.name}"
    assert len({t.key for t in TABLES}) == len(TABLES)
