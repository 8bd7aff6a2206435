# Databricks notebook source
dbutils.jobs.taskValues.set(key="small", value="ok")
dbutils.jobs.taskValues.set(key="blob", value="x" * 50_000)
