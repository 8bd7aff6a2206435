"""MLflow tracking: the experiment per environment and the `mlflow` Dagster resource.

The resource is dagster-mlflow's `MlFlow` (one MLflow run per Dagster run, tagged with the
Dagster run id) behind a thin wrapper that resolves the tracking URI and experiment from the
settings at run time, creates the experiment with its artifact location under
`$MLPLATFORM_HOME/mlflow/artifacts` first (dagster-mlflow would create it with MLflow's default
`./mlruns`), and ends the MLflow run when the Dagster run's resources are torn down.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from types import SimpleNamespace

import dagster as dg

from mlplatform.catalog import MODEL_NAME
from mlplatform.settings import Settings, get_settings
from mlplatform.training.store import ensure_embedded_store

_REPO = Path(__file__).resolve().parents[2]


def experiment_name(env: str) -> str:
    """The training experiment of an environment (dev, staging, prod)."""
    return f"/mlplatform/{env}/{MODEL_NAME}"


def _artifact_location(settings: Settings) -> str | None:
    """Local artifact root; None for a tracking server, which decides where artifacts go."""
    if settings.tracking_uri.startswith(("http://", "https://", "databricks")):
        return None
    return f"{settings.artifact_location}/{settings.env}"


def use_tracking_store(settings: Settings) -> None:
    """Point this process's MLflow (tracking and registry) at the settings' store."""
    import mlflow

    ensure_embedded_store(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)


def ensure_experiment(settings: Settings, name: str | None = None) -> str:
    """Point MLflow at the settings' store; create the experiment if needed; return its id."""
    import mlflow
    from mlflow.exceptions import MlflowException

    use_tracking_store(settings)
    name = name or experiment_name(settings.env)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=_artifact_location(settings))
    except MlflowException:  # created concurrently by another process
        found = mlflow.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def git_commit() -> str:
    """The code version: `MLPLATFORM_GIT_COMMIT` (set in images), else `git rev-parse HEAD`."""
    env = os.environ.get("MLPLATFORM_GIT_COMMIT") or os.environ.get("GIT_COMMIT")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _optional(kind, description: str) -> dg.Field:
    return dg.Field(
        dg.Noneable(kind), default_value=None, is_required=False, description=description
    )


# dagster-mlflow's CONFIG_SCHEMA (importing it would import MLflow whenever the code location
# loads) with the experiment optional; the tracking URI is the settings' one (MLFLOW_TRACKING_URI
# or the embedded sqlite store), so the registry and the run always share one store
_SCHEMA = {
    "experiment_name": _optional(str, "Default: /mlplatform/<MLPLATFORM_ENV>/churn_predictor."),
    "parent_run_id": _optional(str, "MLflow run id of the parent run, for a nested run."),
    "mlflow_run_id": _optional(str, "MLflow run id to use for this run."),
    "env": dg.Field(dg.Permissive(), description="Environment variables for MLflow."),
    "env_to_tag": _optional(list, "Environment variables to log as MLflow tags."),
    "extra_tags": dg.Field(dg.Permissive(), description="Extra tags for the MLflow run."),
}


@dg.resource(
    config_schema=_SCHEMA,
    description="dagster-mlflow tracking: one MLflow run per Dagster run, in the experiment of "
    "the environment, artifacts under $MLPLATFORM_HOME/mlflow/artifacts.",
)
def mlflow_tracking(context: dg.InitResourceContext):
    """dagster-mlflow's `MlFlow`, with the experiment and tracking URI taken from the settings."""
    import mlflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dagster-mlflow's BetaWarnings
        from dagster_mlflow.resources import MlFlow

    settings = get_settings()
    config = dict(context.resource_config)
    config["experiment_name"] = config.get("experiment_name") or experiment_name(settings.env)
    config["mlflow_tracking_uri"] = settings.tracking_uri
    config["extra_tags"] = {"mlplatform.env": settings.env, **(config.get("extra_tags") or {})}
    ensure_experiment(settings, config["experiment_name"])
    shim = SimpleNamespace(
        log=context.log,
        dagster_run=context.dagster_run,
        run_id=context.run_id,
        resource_config=config,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracking = MlFlow(shim)
    try:
        yield tracking
    finally:
        tracking.cleanup_on_error()
        if mlflow.active_run() is not None:
            mlflow.end_run()
