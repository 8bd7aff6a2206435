# Databricks notebook source
dbutils.widgets.text("label", "")
dbutils.notebook.exit(dbutils.widgets.get("label"))
