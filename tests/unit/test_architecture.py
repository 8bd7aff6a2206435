"""The nevers of the architecture, read from the source of every module (imports inside
functions and under `TYPE_CHECKING` count too).

The lakehouse is the bottom and knows no domain; the catalog sits on it and every domain reads
its names from the catalog, not from each other: serving knows no training code, monitoring no
serving or training code, and the customer pipeline knows nothing of its consumers. Cross-domain
wiring (the drift sensor launching the training job) lives in `mlplatform.definitions`.
"""

import ast
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import mlplatform

PACKAGE = Path(mlplatform.__file__).parent
DOMAINS = ("customers", "training", "serving", "monitoring", "feature_store")
NEVER = {
    "mlplatform.lakehouse": (*DOMAINS, "catalog"),
    "mlplatform.catalog": DOMAINS,
    "mlplatform.serving": ("training",),
    "mlplatform.monitoring": ("serving", "training"),
    "mlplatform.customers": ("training", "serving", "monitoring"),
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
    from customer_churn.tables import TABLES as PROJECT_TABLES

    from mlplatform.catalog import TABLE_QUALITY, inference_table, payload_table
    from mlplatform.settings import Settings

    models = ("churn_predictor", "spend_predictor")
    TABLES = (  # noqa: N806
        *PROJECT_TABLES,
        TABLE_QUALITY,
        *(payload_table(m) for m in models),
        *(inference_table(m) for m in models),
    )

    settings = Settings(home=tmp_path, env="dev", engine="polars")
    for table in TABLES:
        assert table.path(settings) == tmp_path / "lakehouse" / table.layer / table.name
        assert table.asset_key.path == [table.layer, table.name]
        assert table.app_id == f"{table.layer}/{table.name}"
    assert len({t.key for t in TABLES}) == len(TABLES)


# --- nothing outside `mlplatform.settings` reads an MLPLATFORM_* variable ----------------------

ENV_READERS = {"get", "setdefault", "pop", "getenv"}


def _string_constants(tree: ast.AST) -> dict[str, str]:
    """Module-level `NAME = "MLPLATFORM_..."` constants of one module."""
    found = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _names_variable(node: ast.AST, constants: dict[str, str]) -> bool:
    """Whether `node` is text naming an MLPLATFORM_* variable: a literal, an f-string or a sum
    starting with one, or a constant (of any module) holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.startswith("MLPLATFORM_")
    if isinstance(node, ast.JoinedStr):
        return bool(node.values) and _names_variable(node.values[0], constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _names_variable(node.left, constants)
    if isinstance(node, ast.Name):
        return constants.get(node.id, "").startswith("MLPLATFORM_")
    if isinstance(node, ast.Attribute):
        return constants.get(node.attr, "").startswith("MLPLATFORM_")
    return False


def _is_os_environ(node: ast.AST) -> bool:
    """`os.environ` or a bare `environ` (imported from os)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def environment_reads(source: str, constants: dict[str, str]) -> list[int]:
    """Lines of `source` that read an MLPLATFORM_* variable from `os.environ` (`[...]` read,
    `.get`, `.setdefault`, `.pop`, `in`) or with `os.getenv`."""
    tree, lines = ast.parse(source), []
    constants = dict(constants)
    for node in ast.walk(tree):  # a name assigned such text anywhere (`env = f"MLPLATFORM_{x}"`)
        if isinstance(node, ast.Assign) and _names_variable(node.value, constants):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = "MLPLATFORM_"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func = node.func
            reader = func.attr in ENV_READERS and _is_os_environ(func.value)
            getenv = func.attr == "getenv" and isinstance(func.value, ast.Name)
            if (reader or getenv) and _names_variable(node.args[0], constants):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            if node.func.id == "getenv" and _names_variable(node.args[0], constants):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_os_environ(node.value) and _names_variable(node.slice, constants):
                lines.append(node.lineno)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            if isinstance(node.ops[0], ast.In | ast.NotIn) and _is_os_environ(node.comparators[0]):
                if _names_variable(node.left, constants):
                    lines.append(node.lineno)
    return sorted(lines)


SOURCES = {module_name(p): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}
CONSTANTS = {
    name: value
    for source in SOURCES.values()
    for name, value in _string_constants(ast.parse(source)).items()
    if value.startswith("MLPLATFORM_")
}


def test_nothing_outside_settings_reads_an_mlplatform_variable():
    found = [
        f"{module}:{line}"
        for module, source in SOURCES.items()
        if not within(module, "mlplatform.settings")
        for line in environment_reads(source, CONSTANTS)
    ]
    assert found == []


@pytest.mark.parametrize(
    "code",
    [
        'import os\nx = os.environ.get("MLPLATFORM_HOME")',
        'import os\nx = os.environ["MLPLATFORM_ENV"]',
        'import os\nx = os.getenv("MLPLATFORM_ENGINE", "polars")',
        'from os import getenv\nx = getenv("MLPLATFORM_ENGINE")',
        'from os import environ\nx = environ.get(f"MLPLATFORM_RETRAIN_{name}")',
        'import os\nURI = "MLPLATFORM_ONLINE_STORE_URI"\nx = os.environ.get(URI)',
        'import os\nx = os.environ.setdefault("MLPLATFORM_" + "HOME", ".")',
        'import os\nx = "MLPLATFORM_HOME" in os.environ',
        'import os\ndef f(n):\n    env = f"MLPLATFORM_RETRAIN_{n}"\n    return os.environ.get(env)',
    ],
)
def test_the_rule_sees_every_way_to_read_a_variable(code):
    constants = _string_constants(ast.parse(code))
    assert environment_reads(code, constants) == [code.count("\n") + 1]


@pytest.mark.parametrize(
    "code",
    [
        'import os\nos.environ["MLPLATFORM_HOME"] = "/data"',  # setting one for a child process
        'import os\nenv = dict(os.environ, MLPLATFORM_HOME="/data")',
        'import os\nx = os.environ.get("DAGSTER_HOME")',
    ],
)
def test_setting_a_variable_or_reading_another_is_not_a_read(code):
    assert environment_reads(code, _string_constants(ast.parse(code))) == []


# --- no import circle through the settings or monitoring --------------------------------------


def _internal_graph() -> dict[str, set[str]]:
    return {
        module: {name for name in names if name in MODULES and name != module}
        for module, names in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    "package",
    ["mlplatform.settings", "mlplatform.monitoring", "mlplatform.lakehouse.object_location"],
)
def test_no_import_circle_runs_through(package):
    circles = [c for c in _cycles(_internal_graph()) if any(within(m, package) for m in c)]
    assert circles == []


def test_the_circle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


RULE_MODULES = (
    "mlplatform.monitoring.config",
    "mlplatform.monitoring.monitor_config",
    "mlplatform.monitoring.custom_metrics",
    "mlplatform.monitoring.slices",
    "mlplatform.monitoring.thresholds",
    "mlplatform.monitoring.table_health.judge",
)


@pytest.mark.parametrize("module", RULE_MODULES)
def test_monitoring_rules_read_no_yaml_and_no_environment(module):
    """Options are pushed: only `mlplatform.monitoring.loader` reads the YAML and the variables."""
    pulled = {"os", "yaml", "mlplatform.settings.variables", "mlplatform.monitoring.loader"}
    assert MODULES[module] & pulled == set()


@pytest.mark.parametrize(
    "module", ["mlplatform.lakehouse.delta", "mlplatform.lakehouse.object_location"]
)
def test_a_store_takes_a_location_and_reads_no_settings(module):
    """The settings own the table root; a `DeltaStore` and a location never ask them."""
    assert {n for n in MODULES[module] if within(n, "mlplatform.settings")} == set()


# ---- no import circle, no reach-in to another module's private names ------------------------
TREES = {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def module_edges(tree: ast.AST) -> set[str]:
    """The mlplatform modules a module imports, at any level (inside functions, under
    `TYPE_CHECKING`): `from a.b import c` is an edge to `a.b.c` when that is a module, else to
    `a.b`. Importing a submodule is no edge to its package's `__init__`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if within(a.name, "mlplatform"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if within(node.module, "mlplatform"):
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    found.add(name if name in TREES else node.module)
    return found


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (a path back to its first module) per strongly connected group of modules."""
    return [circle_in(graph, group) for group in circle_groups(graph)]


def circle_groups(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of modules: each module of a group imports, through the
    others, every other one (a group of one when a module imports itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in graph:
                continue
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = [[start]]
    while paths:  # breadth first: the shortest way back to `start`
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & group):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                paths.append([*path, nxt])
    raise AssertionError(f"no circle in {sorted(group)}")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_members(tree: ast.AST) -> set[str]:
    """The private methods and `self._x` attributes of the classes a module defines."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names.update(
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
    return {n for n in names if _private(n)}


MEMBERS = {module: _private_members(tree) for module, tree in TREES.items()}


def reach_ins(module: str, tree: ast.AST, modules=TREES, members=MEMBERS) -> set[str]:
    """Where `module` uses another mlplatform module's private names: `from x import _y`,
    `x._y` through an imported module, and `obj._y` (not `self`/`cls`) of a private method or
    attribute that only other modules' classes define (a class driven from outside its module)."""
    found = set()
    bound: dict[str, str] = {}  # local name -> the mlplatform module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if within(alias.name, "mlplatform"):
                    bound[alias.asname or "mlplatform"] = (
                        alias.name if alias.asname else "mlplatform"
                    )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not within(node.module, "mlplatform"):
                continue
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if name in modules:
                    bound[alias.asname or alias.name] = name
                elif _private(alias.name) and node.module != module:
                    found.add(f"{module} imports {name}")
    own = members.get(module, set())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain, base = [], node.value
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id in ("self", "cls"):
            continue
        if base.id in bound:
            target = ".".join([bound[base.id], *reversed(chain)])
            if target in modules and target != module:
                found.add(f"{module} uses {target}.{node.attr}")
            continue
        owners = sorted(m for m, names in members.items() if node.attr in names and m != module)
        if owners and node.attr not in own:
            found.add(f"{module} uses {ast.unparse(node)} ({' or '.join(owners)})")
    return found


def test_the_circle_finder_finds_circles_and_only_them():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert import_circles(graph) == [["a", "b", "c", "a"], ["e", "e"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_the_reach_in_finder_sees_every_form():
    code = (
        "from mlplatform.dlt.api import _hidden, visible\n"
        "from mlplatform.dlt import runtime\n"
        "import mlplatform.dlt.runtime as rt\n"
        "import mlplatform.dlt.runtime\n"
        "def f(runner, node):\n"
        "    runtime._frames(); rt._frames(); mlplatform.dlt.runtime._state\n"
        "    runner._wait_for(1); self._own(); node._expr; runtime.public()\n"
    )
    modules = {"mlplatform.dlt.api", "mlplatform.dlt.runtime", "mlplatform.here"}
    members = {"mlplatform.lakehouse.runner": {"_wait_for"}, "mlplatform.here": {"_own"}}
    found = reach_ins("mlplatform.here", ast.parse(code), modules, members)
    assert found == {
        "mlplatform.here imports mlplatform.dlt.api._hidden",
        "mlplatform.here uses mlplatform.dlt.runtime._frames",
        "mlplatform.here uses mlplatform.dlt.runtime._state",
        "mlplatform.here uses runner._wait_for (mlplatform.lakehouse.runner)",
    }


def test_no_import_circle_anywhere_in_mlplatform():
    graph = {module: module_edges(tree) for module, tree in TREES.items()}
    circles = [
        f"{' -> '.join(circle_in(graph, group))} (group: {', '.join(sorted(group))})"
        for group in circle_groups(graph)
    ]
    for circle in circles:
        print("import circle:", circle)
    assert circles == []


def test_no_module_uses_another_modules_private_names():
    found = sorted(f for module, tree in TREES.items() for f in reach_ins(module, tree))
    for finding in found:
        print("private reach-in:", finding)
    assert found == []
