# Databricks notebook source
from pathlib import Path

attempts = Path(dbutils.widgets.get("workdir")) / "attempts.log"
with open(attempts, "a") as log:
    log.write("attempt\n")
if len(attempts.read_text().splitlines()) < 2:
    raise RuntimeError("first attempt fails")
dbutils.notebook.exit("second attempt")
