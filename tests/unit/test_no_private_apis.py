"""mlplatform uses the public APIs of dagster and mlflow: no import of their private modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mlplatform"
LIBRARIES = re.compile(r"^(dagster\w*|mlflow\w*)$")
ALLOWED: set[tuple[str, str]] = set()
"""(file, private module) pairs allowed for want of a public API: none now."""
TEXT = re.compile(r"\b(?:dagster\w*|mlflow\w*)\._(?!_)[\w.]*\w")


def _private(name: str) -> bool:
    top, *rest = name.split(".")
    return bool(LIBRARIES.match(top)) and any(part.startswith("_") for part in rest)


def _private_modules(tree: ast.AST) -> list[str]:
    """The private dagster/mlflow modules (or names) that `tree` imports."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _private(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private(node.module):
                found.append(node.module)
            else:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                found += [name for name in names if _private(name)]
    return found


def _findings() -> set[tuple[str, str]]:
    findings = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        source = path.read_text()
        for module in _private_modules(ast.parse(source)):
            findings.add((rel, module))
        for match in TEXT.finditer(source):
            findings.add((rel, match.group(0)))
    return findings


def test_no_private_dagster_or_mlflow_module_is_used():
    findings = _findings()
    unexpected = {
        (rel, name)
        for rel, name in findings
        if not any(rel == a and name.startswith(m) for a, m in ALLOWED)
    }
    assert unexpected == set(), unexpected


def test_the_allowed_exceptions_are_still_needed():
    findings = _findings()
    for rel, module in ALLOWED:
        assert (rel, module) in findings, f"{rel} no longer imports {module}: drop it from ALLOWED"


def test_the_scan_finds_what_it_is_for():
    tree = ast.parse(
        "from dagster._core.storage import x\nimport mlflow._private.y\nfrom dagster import _z\n"
    )
    assert _private_modules(tree) == ["dagster._core.storage", "mlflow._private.y", "dagster._z"]
