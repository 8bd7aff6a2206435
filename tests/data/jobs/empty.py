# Databricks notebook source
# MAGIC %md
# MAGIC An empty notebook: the per-task overhead, and proof that no JVM starts for it.

# COMMAND ----------

import sys

dbutils.notebook.exit("jvm" if "pyspark" in sys.modules else "no jvm")
