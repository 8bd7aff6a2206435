# Databricks notebook source
# MAGIC %md
# MAGIC # Evaluate
# MAGIC Compares the new model with the champion and sets `decision` to "promote" or "skip".

# COMMAND ----------

dbutils.widgets.text("champion_auc", "0.0")
champion_auc = float(dbutils.widgets.get("champion_auc"))
auc = dbutils.jobs.taskValues.get(taskKey="train", key="auc", default=0.0, debugValue=0.5)

# COMMAND ----------

decision = "promote" if auc > champion_auc else "skip"
dbutils.jobs.taskValues.set(key="decision", value=decision)
print(f"auc {auc} against champion {champion_auc}: {decision}")
dbutils.notebook.exit(decision)
