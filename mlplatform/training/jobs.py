"""The training job (features -> train -> evaluate) and the promotion job."""

import dagster as dg

from mlplatform.training.tracking import MlflowResource

RUN_RETRIES = {
    # a run that dies for a reason outside the steps (worker lost, ...) is retried; a failed
    # step or blocking check is not: retrying would only register another failing version
    "dagster/max_retries": "2",
    "dagster/retry_on_asset_or_op_failure": "false",
}

ml_training_job = dg.define_asset_job(
    "ml_training_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold", "ml"),
    description="Refresh the feature tables, train and register a challenger, evaluate it "
    "against the champion (the decision is read by promote_model_sensor).",
    # same concurrency key as the feature pipeline: both write the medallion tables
    tags={"mlplatform/pipeline": "training", **RUN_RETRIES},
)


class PromoteConfig(dg.Config):
    """Which version to promote, and why (written to the audit trail)."""

    version: int
    reason: str = "evaluation decided promote"
    evaluation_run_id: str | None = None


@dg.op(name="promote_champion")
def promote_champion(
    context: dg.OpExecutionContext, config: PromoteConfig, mlflow: MlflowResource
) -> dg.Output:
    """Move the `champion` alias to the version; keep the replaced one as `previous_champion`.

    Serving polls the champion alias, so the endpoint picks the new version up without a restart.
    """
    from mlplatform.training import registry
    from mlplatform.training.tracking import use_tracking_store

    settings = mlflow.settings
    use_tracking_store(settings)
    client = registry.client(settings)
    reason = config.reason
    if config.evaluation_run_id:
        reason = f"{reason} (evaluation run {config.evaluation_run_id})"
    try:
        move = registry.promote(client, config.version, f"dagster:{context.run_id}", reason)
    except registry.RegistryError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    if move.changed:
        context.log.info(
            f"{registry.MODEL_NAME}@champion -> version {move.champion} (was {move.replaced}); "
            "serving picks it up at its next alias poll"
        )
    else:
        context.log.info(f"version {move.champion} already is the champion; nothing to do")
    return dg.Output(
        move.champion,
        metadata={
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
    name="promote_model",
    description="Make a model version the champion (launched by promote_model_sensor).",
    tags={"dagster/max_retries": "2"},  # idempotent: re-promoting the champion is a no-op
)
def promote_model_job():
    promote_champion()
