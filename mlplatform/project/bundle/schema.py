"""The keys a bundle may hold, per section and per resource kind, and their types.

Written from Databricks' public documentation of bundles (configuration reference, resources)
and of the REST APIs whose objects the resources are. A spec is a type name (`str`, `bool`,
`int`, `num`, `map`: any mapping, `list`: any sequence, `any`), a dict of known keys (`"*"`:
any key, each value of that spec), or a one-item list (a sequence of that spec). An unknown key
is a warning and its value is kept; a value of the wrong type is an error.
"""

from __future__ import annotations

PERMISSIONS = [
    {"level": "str", "user_name": "str", "group_name": "str", "service_principal_name": "str"}
]
GRANTS = [{"principal": "str", "privileges": ["str"]}]
LIFECYCLE = {"prevent_destroy": "bool"}
COMMON = {"permissions": PERMISSIONS, "lifecycle": LIFECYCLE}

PIPELINE_LIBRARY = {
    "file": {"path": "str"},
    "glob": {"include": "str"},
    "notebook": {"path": "str"},
    "jar": "str",
    "maven": "map",
    "whl": "str",
}

PIPELINE = {
    **COMMON,
    "name": "str",
    "catalog": "str",
    "schema": "str",
    "target": "str",
    "libraries": [PIPELINE_LIBRARY],
    "configuration": {"*": "str"},
    "development": "bool",
    "continuous": "bool",
    "serverless": "bool",
    "photon": "bool",
    "channel": "str",
    "edition": "str",
    "clusters": ["map"],
    "storage": "str",
    "root_path": "str",
    "environment": "map",
    "event_log": "map",
    "filters": "map",
    "notifications": ["map"],
    "trigger": "map",
    "tags": {"*": "str"},
    "budget_policy_id": "str",
    "usage_policy_id": "str",
    "allow_duplicate_names": "bool",
    "dry_run": "bool",
    "deployment": "map",
    "gateway_definition": "map",
    "ingestion_definition": "map",
    "restart_window": "map",
    "run_as": "map",
    "id": "str",
}

REGISTERED_MODEL = {
    **COMMON,
    "name": "str",
    "catalog_name": "str",
    "schema_name": "str",
    "comment": "str",
    "storage_location": "str",
    "grants": GRANTS,
    "aliases": [{"alias_name": "str", "version_num": "int"}],
}

EXPERIMENT = {
    **COMMON,
    "name": "str",
    "artifact_location": "str",
    "tags": [{"key": "str", "value": "str"}],
    "experiment_id": "str",
    "lifecycle_stage": "str",
    "creation_time": "int",
    "last_update_time": "int",
}

QUALITY_MONITOR = {
    **COMMON,
    "table_name": "str",
    "output_schema_name": "str",
    "assets_dir": "str",
    "baseline_table_name": "str",
    "custom_metrics": [
        {
            "name": "str",
            "definition": "str",
            "input_columns": ["str"],
            "output_data_type": "str",
            "type": "str",
        }
    ],
    "data_classification_config": "map",
    "inference_log": {
        "problem_type": "str",
        "prediction_col": "str",
        "timestamp_col": "str",
        "model_id_col": "str",
        "granularities": ["str"],
        "label_col": "str",
        "prediction_proba_col": "str",
    },
    "time_series": {"timestamp_col": "str", "granularities": ["str"]},
    "snapshot": "map",
    "slicing_exprs": ["str"],
    "schedule": {"quartz_cron_expression": "str", "timezone_id": "str", "pause_status": "str"},
    "notifications": "map",
    "skip_builtin_dashboard": "bool",
    "warehouse_id": "str",
}

JOB = {
    **COMMON,
    "name": "str",
    "description": "str",
    "tasks": ["map"],
    "job_clusters": ["map"],
    "environments": ["map"],
    "parameters": [{"name": "str", "default": "any"}],
    "schedule": {"quartz_cron_expression": "str", "timezone_id": "str", "pause_status": "str"},
    "trigger": "map",
    "continuous": "map",
    "max_concurrent_runs": "int",
    "timeout_seconds": "int",
    "tags": {"*": "str"},
    "email_notifications": "map",
    "webhook_notifications": "map",
    "notification_settings": "map",
    "health": "map",
    "queue": "map",
    "run_as": "map",
    "git_source": "map",
    "format": "str",
    "edit_mode": "str",
    "deployment": "map",
    "budget_policy_id": "str",
    "usage_policy_id": "str",
    "performance_target": "str",
}

MODEL_SERVING_ENDPOINT = {
    **COMMON,
    "name": "str",
    "config": "map",
    "ai_gateway": "map",
    "rate_limits": ["map"],
    "route_optimized": "bool",
    "tags": [{"key": "str", "value": "str"}],
    "description": "str",
    "budget_policy_id": "str",
    "email_notifications": "map",
}

SUPPORTED_KINDS = {
    "pipelines": PIPELINE,
    "registered_models": REGISTERED_MODEL,
    "experiments": EXPERIMENT,
    "quality_monitors": QUALITY_MONITOR,
    "jobs": JOB,
    "model_serving_endpoints": MODEL_SERVING_ENDPOINT,
}

DOCUMENTED_KINDS = (
    "alerts",
    "apps",
    "clusters",
    "dashboards",
    "database_catalogs",
    "database_instances",
    "models",
    "schemas",
    "secret_scopes",
    "sql_warehouses",
    "synced_database_tables",
    "volumes",
)
"""Resource kinds bundles document that mlplatform does not run (a warning, kept as written)."""

PRESETS = {
    "name_prefix": "str",
    "pipelines_development": "bool",
    "trigger_pause_status": "str",
    "jobs_max_concurrent_runs": "int",
    "tags": {"*": "str"},
    "source_linked_deployment": "bool",
    "artifacts_dynamic_version": "bool",
}

BUNDLE = {
    "name": "str",
    "uuid": "str",
    "cluster_id": "str",
    "compute_id": "str",
    "databricks_cli_version": "str",
    "deployment": "map",
    "git": {"branch": "str", "origin_url": "str"},
}

WORKSPACE = {
    "host": "str",
    "profile": "str",
    "root_path": "str",
    "file_path": "str",
    "artifact_path": "str",
    "resource_path": "str",
    "state_path": "str",
    "auth_type": "str",
    "client_id": "str",
    "account_id": "str",
    "azure_client_id": "str",
    "azure_tenant_id": "str",
    "azure_environment": "str",
    "azure_login_app_id": "str",
    "azure_use_msi": "bool",
    "azure_workspace_resource_id": "str",
    "google_service_account": "str",
    "metadata_service_url": "str",
}

SECTIONS = {
    "bundle": BUNDLE,
    "include": ["str"],
    "variables": {"*": "any"},
    "workspace": WORKSPACE,
    "artifacts": {"*": "map"},
    "resources": {"*": "any"},
    "targets": {"*": "any"},
    "environments": {"*": "any"},
    "sync": {"include": ["str"], "exclude": ["str"], "paths": ["str"]},
    "permissions": PERMISSIONS,
    "run_as": {"user_name": "str", "service_principal_name": "str"},
    "presets": PRESETS,
    "python": {"venv_path": "str", "resources": ["str"], "mutators": ["str"]},
    "experimental": "map",
    "scripts": {"*": "map"},
}

TARGET = {
    "default": "bool",
    "mode": "str",
    "bundle": BUNDLE,
    "workspace": WORKSPACE,
    "variables": {"*": "any"},
    "resources": {"*": "any"},
    "artifacts": {"*": "map"},
    "presets": PRESETS,
    "git": {"branch": "str", "origin_url": "str"},
    "cluster_id": "str",
    "compute_id": "str",
    "run_as": {"user_name": "str", "service_principal_name": "str"},
    "permissions": PERMISSIONS,
    "sync": {"include": ["str"], "exclude": ["str"], "paths": ["str"]},
}

VARIABLE = {"default": "any", "description": "str", "type": "str", "lookup": "map"}
