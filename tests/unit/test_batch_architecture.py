"""The table updates' nevers, read from the source (imports inside functions count): no import
circle and no reach-in to another module's private names in the table layer, the DLT package,
the monitoring windows and the feature history.

The users of `dlt/api.py`'s private helpers (`dlt/cdc_api.py`) are left to the package work.
"""

import ast
from pathlib import Path

import pytest

import mlplatform

PACKAGE = Path(mlplatform.__file__).parent
AREA = (
    "mlplatform.lakehouse",
    "mlplatform.dlt.cdc_asset",
    "mlplatform.dlt.outputs",
    "mlplatform.dlt.pipeline",
    "mlplatform.monitoring.windows",
    "mlplatform.feature_store.timeseries",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


TREES = {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


ELSEWHERE: tuple[str, ...] = ()


def in_area(module: str) -> bool:
    if module in ELSEWHERE:
        return False
    return any(module == a or module.startswith(f"{a}.") for a in AREA)


def edges(tree: ast.AST) -> set[str]:
    """The mlplatform modules a module imports (`from a import b` names `a.b` when it is a
    module, else `a`)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in TREES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in TREES else node.module)
    return {m for m in found if m in TREES}


GRAPH = {name: edges(tree) - {name} for name, tree in TREES.items()}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return found


def test_a_reach_in_is_seen():
    tree = ast.parse("from mlplatform.dlt.api import _sql\nrunner._commit(1)\nself._commit(2)")
    assert private_reach_ins("mlplatform.x", tree, {"_commit"}) == [
        "mlplatform.x imports mlplatform.dlt.api._sql",
        "mlplatform.x:2 uses runner._commit",
    ]


def test_the_graph_sees_function_level_imports():
    assert "mlplatform.lakehouse.update.batch" in GRAPH["mlplatform.monitoring.windows"]
    assert "mlplatform.lakehouse.update.runner" in GRAPH["mlplatform.dlt.cdc_asset"]  # in a def


def test_no_import_circle_through_the_table_updates():
    assert [c for c in cycles() if any(in_area(m) for m in c)] == []


def private_names() -> set[str]:
    """Every private function, method or instance attribute that the area defines."""
    names = set()
    for tree in (t for m, t in TREES.items() if in_area(m)):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


PRIVATE = private_names()


def private_reach_ins(module: str, tree: ast.AST, private: set[str] = PRIVATE) -> list[str]:
    """Private names of another module imported, or the area's private methods and attributes
    used on something other than `self`/`cls` (`runner._commit(...)`)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("mlplatform")
        ):
            found += [
                f"{module} imports {node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and node.module != module
            ]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr not in private or not isinstance(node.value, ast.Name):
                continue
            if node.value.id not in ("self", "cls"):
                found.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("module", sorted(m for m in TREES if in_area(m)))
def test_no_reach_in_to_another_modules_private_names(module):
    assert private_reach_ins(module, TREES[module]) == []
