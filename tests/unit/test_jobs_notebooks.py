"""Databricks notebooks read as cells, run with dbutils as globals (no Spark unless used)."""

import json

import pytest

from mlplatform.jobs.dbutils import JobInfo
from mlplatform.jobs.notebooks import find_notebook, mentions_spark, read_cells
from mlplatform.jobs.runner import LazySpark, NotebookRunner

SOURCE = """# Databricks notebook source
# MAGIC %md
# MAGIC # Title

# COMMAND ----------

# MAGIC %run ./helpers

# COMMAND ----------

dbutils.widgets.text("n", "1")
total = helper(int(dbutils.widgets.get("n")))

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT 1

# COMMAND ----------

dbutils.jobs.taskValues.set("total", total)
dbutils.notebook.exit(str(total))
"""


def test_a_source_notebook_splits_into_cells_with_magics():
    cells = [(c.kind, c.text, c.line) for c in read_cells_text(SOURCE)]
    assert cells == [
        ("md", "# Title", 2),
        ("run", "./helpers", 6),
        (
            "python",
            '\ndbutils.widgets.text("n", "1")\ntotal = helper(int(dbutils.widgets.get("n")))\n',
            10,
        ),
        ("sql", "SELECT 1", 15),
        (
            "python",
            '\ndbutils.jobs.taskValues.set("total", total)\ndbutils.notebook.exit(str(total))',
            20,
        ),
    ]


def read_cells_text(text):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    path = folder / "nb.py"
    path.write_text(text)
    return read_cells(path)


def test_an_ipynb_notebook_reads_its_code_cells(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "markdown", "source": ["# t"]},
                    {"cell_type": "code", "source": ["x = 1\n", "y = 2"]},
                    {"cell_type": "code", "source": "%pip install nothing"},
                ]
            }
        )
    )
    assert [(c.kind, c.text) for c in read_cells(path)] == [
        ("python", "x = 1\ny = 2"),
        ("pip", "install nothing"),
    ]
    assert find_notebook("nb", tmp_path) == path


def test_spark_is_started_only_for_code_that_names_it():
    assert not mentions_spark(read_cells_text("# Databricks notebook source\nx = 1\n"))
    assert not mentions_spark(read_cells_text('# Databricks notebook source\n"pyspark" in m\n'))
    assert mentions_spark(read_cells_text("# Databricks notebook source\ndf = spark.range(3)\n"))


def test_a_notebook_runs_with_run_cells_widgets_and_task_values(tmp_path):
    (tmp_path / "helpers.py").write_text(
        "# Databricks notebook source\ndef helper(n):\n    return n * 10\n"
    )
    text = SOURCE.replace("# MAGIC %sql\n# MAGIC SELECT 1\n", "# MAGIC %md\n# MAGIC no sql\n")
    (tmp_path / "nb.py").write_text(text)
    sent = []
    runner = NotebookRunner(JobInfo("t", {}, lambda k, v: sent.append((k, v))), tmp_path)
    assert runner.run(tmp_path / "nb.py", {"n": "4"}) == "40"
    assert sent == [("total", 40)]
    assert isinstance(
        runner.globals_for({}, read_cells(tmp_path / "helpers.py"))["spark"], LazySpark
    )


def test_a_failing_cell_reports_the_notebook_line(tmp_path):
    (tmp_path / "bad.py").write_text(
        "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\nraise ValueError('no')\n"
    )
    with pytest.raises(ValueError) as err:
        NotebookRunner(None, tmp_path).run(tmp_path / "bad.py", {})
    assert err.traceback[-1].lineno + 1 == 6 and str(err.traceback[-1].path).endswith("bad.py")
