"""A declared model's training job (upstream refresh -> train -> evaluate) and promotion job."""

import dagster as dg

from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.tracking import MlflowResource

RUN_RETRIES = {
    # a run that dies for a reason outside the steps (worker lost, ...) is retried; a failed
    # step or blocking check is not: retrying would only register another failing version
    "dagster/max_retries": "2",
    "dagster/retry_on_asset_or_op_failure": "false",
}


def training_job(lc: ModelLifecycle):
    """Refresh what the model's evaluation depends on (and `refresh_groups`), train, evaluate."""
    selection = dg.AssetSelection.assets(lc.evaluation_key).upstream()
    if lc.refresh_groups:
        selection = selection | dg.AssetSelection.groups(*lc.refresh_groups)
    return dg.define_asset_job(
        lc.training_job_name,
        selection=selection,
        description=f"Refresh the tables `{lc.registered_model}` learns from, train and "
        f"register a challenger, evaluate it against the champion (the decision is read by "
        f"{lc.sensor_name}).",
        # same concurrency key as the table pipeline: both write the medallion tables
        tags={"mlplatform/pipeline": "training", "mlplatform/model": lc.registered_model}
        | RUN_RETRIES,
    )


class PromoteConfig(dg.Config):
    """Which version to promote, and why (written to the audit trail)."""

    version: int
    reason: str = "evaluation decided promote"
    evaluation_run_id: str | None = None


def promote_job(lc: ModelLifecycle) -> dg.JobDefinition:
    """The job that moves `champion` of the declared model (and only of it)."""
    name = lc.registered_model

    @dg.op(name=lc.promote_op_name)
    def promote_champion(
        context: dg.OpExecutionContext, config: PromoteConfig, mlflow: MlflowResource
    ) -> dg.Output:
        """Move the `champion` alias to the version; keep the replaced one as
        `previous_champion`. Serving polls the alias, so it picks the version up."""
        from mlplatform.training import registry
        from mlplatform.training.tracking import use_tracking_store

        settings = mlflow.settings
        use_tracking_store(settings)
        client = registry.client(settings)
        reason = config.reason
        if config.evaluation_run_id:
            reason = f"{reason} (evaluation run {config.evaluation_run_id})"
        actor = f"dagster:{context.run_id}"
        try:
            move = registry.promote(client, config.version, actor, reason, name)
        except registry.RegistryError as err:
            raise dg.Failure(description=str(err), allow_retries=False) from err
        if move.changed:
            context.log.info(
                f"{name}@champion -> version {move.champion} (was {move.replaced}); "
                "serving picks it up at its next alias poll"
            )
        else:
            context.log.info(f"version {move.champion} already is the champion; nothing to do")
        return dg.Output(
            move.champion,
            metadata={
                "model_name": name,
                "champion_version": move.champion,
                "replaced_version": move.replaced
                if move.replaced is not None
                else dg.MetadataValue.null(),
                "previous_champion": move.previous_champion
                if move.previous_champion is not None
                else dg.MetadataValue.null(),
                "changed": move.changed,
            },
        )

    @dg.job(
        name=lc.promote_job_name,
        description=f"Make a version of `{name}` the champion (launched by {lc.sensor_name}).",
        tags={"dagster/max_retries": "2", "mlplatform/model": name},  # re-promoting: a no-op
    )
    def promote_model_job():
        promote_champion()

    return promote_model_job
