# Databricks notebook source
# MAGIC %md
# MAGIC Uses the injected `spark`: a DataFrame, a temporary view and a `%sql` cell.

# COMMAND ----------

df = spark.range(5).withColumnRenamed("id", "n")
df.createOrReplaceTempView("numbers")
display(df)

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT sum(n) AS total FROM numbers

# COMMAND ----------

total = _sqldf.collect()[0]["total"]
dbutils.jobs.taskValues.set(key="total", value=int(total))
dbutils.notebook.exit(str(total))
