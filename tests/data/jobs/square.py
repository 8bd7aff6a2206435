# Databricks notebook source
# MAGIC %md
# MAGIC Squares the for-each input it is given as the widget `n`.

# COMMAND ----------

import time

dbutils.widgets.text("n", "0")
n = int(dbutils.widgets.get("n"))
time.sleep(1.0)
dbutils.jobs.taskValues.set(key="square", value=n * n)
dbutils.notebook.exit(f"{n}^2={n * n}")
