# Databricks notebook source
token = dbutils.secrets.get(scope="ml", key="token")
raise RuntimeError(f"the service refused token {token}")
