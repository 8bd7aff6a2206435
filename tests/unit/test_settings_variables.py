"""Every MLPLATFORM_* variable lives in `mlplatform.settings.variables`, and the README's table of
settings is that module's table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

import mlplatform
from mlplatform.settings import SettingsError, variables
from mlplatform.settings.variables import VARIABLES, Variable, settings_table

ROOT = Path(mlplatform.__file__).parents[1]
BEGIN, END = "<!-- settings table: begin -->\n", "<!-- settings table: end -->"
ROW = re.compile(r"^\| `(MLPLATFORM_[A-Za-z0-9_<>]+)` \| (.*?) \| (.*?) \| (.*) \|$")


def readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    rows = {}
    for line in table.splitlines()[2:]:
        found = ROW.match(line)
        assert found, f"README settings table: {line!r} is not a row"
        rows[found.group(1)] = found.group(3)
    return rows


def test_the_readme_table_is_the_modules_table():
    text = (ROOT / "README.md").read_text()
    assert text[text.index(BEGIN) + len(BEGIN) : text.index(END)] == settings_table()


def test_every_variable_is_in_the_readme_with_its_default_and_nothing_else():
    rows = readme_rows()
    assert sorted(rows) == sorted(v.name for v in VARIABLES)
    for v in VARIABLES:
        expected = v.shown or (f"`{v.default}`" if v.default is not None else "unset")
        assert rows[v.name] == expected, v.name
    assert rows["MLPLATFORM_DRIFT_MIN_ROWS"] == "`500`"
    assert rows["MLPLATFORM_ENV"] == "`dev`" and rows["MLPLATFORM_SPARK_MASTER"] == "`local[2]`"


def _named_variables(path: Path) -> set[str]:
    """The MLPLATFORM_* names written as whole string constants in one source file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"MLPLATFORM_[A-Z0-9_]+", node.value):
                names.add(node.value)
    return names


def test_every_variable_the_code_names_is_declared():
    declared = {v.name for v in VARIABLES} | {v.prefix for v in VARIABLES if v.family}
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "mlplatform").rglob("*.py"))
        for name in _named_variables(path)
        if name not in declared
    }
    assert found == set()


def test_a_variable_reads_its_value_or_default(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_SPARK_MASTER", raising=False)
    assert variables.SPARK_MASTER.value() == "local[2]"
    assert variables.SPARK_MASTER.raw() is None
    monkeypatch.setenv("MLPLATFORM_SPARK_MASTER", "")
    assert variables.SPARK_MASTER.value() == "local[2]"  # empty counts as unset
    monkeypatch.setenv("MLPLATFORM_SPARK_MASTER", "spark://h:7077")
    assert variables.SPARK_MASTER.value() == variables.SPARK_MASTER.raw() == "spark://h:7077"
    # a given mapping (a bundle's environment) instead of the process's
    assert variables.SPARK_MASTER.value({}) == "local[2]"
    family = variables.BUNDLE_VARIABLE
    assert family.family and family.prefix == "MLPLATFORM_VAR_"
    assert family.value({"MLPLATFORM_VAR_image": "reg/img"}, "image") == "reg/img"
    assert family.value({}, "image") is None


def test_a_number_is_named_with_the_callers_error(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_DRIFT_MIN_ROWS", raising=False)
    assert variables.DRIFT_MIN_ROWS.number(int) == 500
    monkeypatch.setenv("MLPLATFORM_DRIFT_MIN_ROWS", "12")
    assert variables.DRIFT_MIN_ROWS.number(int) == 12
    monkeypatch.setenv("MLPLATFORM_DRIFT_MIN_ROWS", "many")
    with pytest.raises(SettingsError, match=r"^MLPLATFORM_DRIFT_MIN_ROWS='many' is not an int"):
        variables.DRIFT_MIN_ROWS.number(int)
    with pytest.raises(click.BadParameter, match="'many' is not an integer"):
        variables.DRIFT_MIN_ROWS.number(int, click.BadParameter)
    assert Variable("MLPLATFORM_TEST_N", "number", None, "x").number() is None
