"""Databricks notebooks as cells: source notebooks (`.py` starting `# Databricks notebook
source`, cells split by `# COMMAND ----------`, `# MAGIC %sql` magic cells) and `.ipynb`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"
MAGICS = ("md", "sql", "pip", "run", "python", "sh", "fs")
SUFFIXES = (".py", ".ipynb")
SPARK_WORD = re.compile(r"\bspark\b")


@dataclass(frozen=True)
class Cell:
    """One cell: its language (`python`, `sql`, `pip`, `run`, `md`, `sh`, `fs`) and its text."""

    kind: str
    text: str
    line: int
    """The cell's first line in the file (1-based)."""


def find_notebook(path: str | Path, base: Path | None = None) -> Path:
    """The notebook file `path` names (relative to `base`), with or without its suffix.

    Raises:
        FileNotFoundError: naming the path tried.
    """
    path = Path(path)
    if not path.is_absolute() and base is not None:
        path = base / path
    for candidate in (path, *(path.with_name(path.name + s) for s in SUFFIXES)):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"notebook {str(path)!r} not found (tried .py and .ipynb too)")


def read_cells(path: Path) -> list[Cell]:
    """The cells of the notebook at `path` (a plain `.py` file is one Python cell)."""
    text = path.read_text()
    if path.suffix == ".ipynb":
        return _ipynb_cells(text, path)
    lines = text.splitlines()
    if not lines or lines[0].strip() != HEADER:
        return [Cell("python", text, 1)]
    cells, current, start = [], [], 2
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == SEPARATOR:
            cells.append(_source_cell(current, start))
            current, start = [], number + 1
        else:
            current.append(line)
    cells.append(_source_cell(current, start))
    return [c for c in cells if c.text.strip()]


def _source_cell(lines: list[str], start: int) -> Cell:
    body = [ln for ln in lines]
    magic = [ln for ln in body if ln.strip()]
    if magic and all(ln.startswith("# MAGIC") for ln in magic):
        text = "\n".join(ln[len("# MAGIC") :].removeprefix(" ") for ln in body)
        return _magic_cell(text, start)
    return Cell("python", "\n".join(body), start)


def _magic_cell(text: str, line: int) -> Cell:
    stripped = text.lstrip()
    if stripped.startswith("%"):
        first, _, rest = stripped[1:].partition("\n")
        name, _, args = first.partition(" ")
        if name in MAGICS:
            return Cell(name, (args + "\n" + rest).strip(), line)
    return Cell("python", text, line)


def _ipynb_cells(text: str, path: Path) -> list[Cell]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: not a valid .ipynb ({err.msg})") from None
    cells = []
    for number, cell in enumerate(data.get("cells", []), start=1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "code" and source.strip():
            cells.append(
                _magic_cell(source, number)
                if source.lstrip().startswith("%")
                else Cell("python", source, number)
            )
    return cells


def mentions_spark(cells: list[Cell]) -> bool:
    """Whether the cells may use Spark (a `%sql` cell or the word `spark`)."""
    return any(c.kind == "sql" or SPARK_WORD.search(c.text) for c in cells)
