"""MLflow tracking: the experiment per environment and the `mlflow` Dagster resource.

`MlflowResource` does what dagster-mlflow's resource does (one MLflow run per Dagster run,
tagged with the Dagster run id) as a `ConfigurableResource`: it resolves the tracking URI and
experiment from the settings at run time, creates the experiment with its artifact location
under `$MLPLATFORM_HOME/mlflow/artifacts` first (MLflow's default would be `./mlruns`), and ends
the MLflow run when the Dagster run's resources are torn down.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import dagster as dg
from pydantic import Field

from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.settings import Settings
from mlplatform.settings.variables import GIT_COMMIT
from mlplatform.training.store import ensure_embedded_store

RUNS_EXPERIMENT = "runs"
"""The experiment of the Dagster runs' own MLflow runs; each model's training run nests in its
model's experiment (`MlflowResource.model_run`)."""


def experiment_name(env: str, model: str = RUNS_EXPERIMENT) -> str:
    """The experiment of a registered model in an environment (dev, staging, prod)."""
    return f"/mlplatform/{env}/{model}"


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
    """The code version: `MLPLATFORM_GIT_COMMIT` (set in images), else the commit of the git
    checkout the package runs from (an editable install), else `unknown`."""
    env = GIT_COMMIT.value() or os.environ.get("GIT_COMMIT")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking for a Dagster run: one MLflow run per Dagster run (tag `dagster_run_id`,
    the run named after the job) in the environment's experiment, ended when the Dagster run's
    resources are torn down (FAILED when the step raised).

    Fields left unset take the settings' values when the run starts: the tracking URI is
    `MLFLOW_TRACKING_URI` or the embedded sqlite store, the experiment `/mlplatform/<env>/runs`;
    each model's training nests a run in `/mlplatform/<env>/<registered model>` (`model_run`).
    `tracking_token` is the tracking server's bearer token
    (`EnvVar("MLFLOW_TRACKING_TOKEN")` in staging and prod); it is handed to MLflow as
    `MLFLOW_TRACKING_TOKEN`, the way MLflow's clients read it.
    """

    lakehouse: LakehouseResource
    tracking_uri: str | None = Field(
        default=None, description="Default: MLFLOW_TRACKING_URI, else the embedded sqlite store."
    )
    tracking_token: str | None = Field(
        default=None, description="Bearer token of the tracking server (a secret: use EnvVar)."
    )
    experiment_name: str | None = Field(
        default=None, description="Default: /mlplatform/<MLPLATFORM_ENV>/runs."
    )
    extra_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags of every MLflow run, besides dagster_run_id."
    )

    @property
    def settings(self) -> Settings:
        """The lakehouse settings with this resource's tracking URI (and its token set for
        MLflow's client)."""
        settings = self.lakehouse.settings
        if self.tracking_token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.tracking_token
        if not self.tracking_uri:
            return settings
        return replace(settings, tracking_uri_override=self.tracking_uri)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        import mlflow

        settings = self.settings
        experiment = self.experiment_name or experiment_name(settings.env)
        experiment_id = ensure_experiment(settings, experiment)
        run_id = context.run_id
        found = mlflow.search_runs(
            experiment_ids=[experiment_id],
            filter_string=f"tags.dagster_run_id = '{run_id}'",
            output_format="list",
            max_results=1,
        )
        job = context.dagster_run.job_name if context.dagster_run else None
        if mlflow.active_run() is None:
            if found:
                mlflow.start_run(run_id=found[0].info.run_id)
            else:
                mlflow.start_run(experiment_id=experiment_id, run_name=job)
        mlflow.set_tags({"dagster_run_id": run_id, "mlplatform.env": settings.env})
        if self.extra_tags:
            mlflow.set_tags(self.extra_tags)
        if context.log:
            context.log.info(
                f"MLflow run {mlflow.active_run().info.run_id} in experiment {experiment}"
            )
        try:
            yield self
        except BaseException:
            if mlflow.active_run() is not None:
                mlflow.end_run(status="FAILED")
            raise
        finally:
            if mlflow.active_run() is not None:
                mlflow.end_run()

    @contextmanager
    def model_run(self, model: str, run_id: str):
        """A run nested in the active one, in the experiment of the registered model `model`:
        two models trained in one Dagster run log their params and metrics apart."""
        import mlflow

        settings = self.settings
        experiment_id = ensure_experiment(settings, experiment_name(settings.env, model))
        active = mlflow.active_run()
        if active is not None and active.info.experiment_id == experiment_id:
            yield active
            return
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=model, nested=active is not None
        ) as run:
            mlflow.set_tags({"dagster_run_id": run_id, "mlplatform.env": settings.env})
            yield run

    def set_tag(self, key: str, value: str) -> None:
        """Tag the active MLflow run."""
        import mlflow

        mlflow.set_tag(key, value)
