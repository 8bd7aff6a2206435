# Databricks notebook source
from pathlib import Path

workdir = Path(dbutils.widgets.get("workdir"))
with open(workdir / "prepare.log", "a") as log:
    log.write("ran\n")
dbutils.jobs.taskValues.set(key="rows", value=42)
