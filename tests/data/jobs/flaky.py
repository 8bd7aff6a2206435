# Databricks notebook source
from pathlib import Path

rows = dbutils.jobs.taskValues.get(taskKey="prepare", key="rows")
if not (Path(dbutils.widgets.get("workdir")) / "fixed").exists():
    raise RuntimeError("the source is not ready")
dbutils.notebook.exit(f"rows {rows}")
