# Databricks notebook source
# MAGIC %md
# MAGIC # Deploy
# MAGIC Runs only when the evaluation decided to promote.

# COMMAND ----------

name = dbutils.jobs.taskValues.get(taskKey="train", key="model_name")
version = dbutils.jobs.taskValues.get(taskKey="train", key="model_version")
dbutils.notebook.exit(f"deployed {name} version {version}")
