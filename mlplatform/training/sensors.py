"""The conditional task: launch a model's promotion job only when its evaluation decided
`promote` and no blocking check failed (`promotion_sensor` builds it for one declared model)."""

import dagster as dg
from dagster import DagsterEventType

from mlplatform.catalog import PROMOTE
from mlplatform.training.jobs import PromoteConfig
from mlplatform.training.lifecycle import ModelLifecycle


def _failed(evaluation) -> bool:
    return not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR


def blocking_problems(
    instance: dg.DagsterInstance, run_id: str, version: int, lc: ModelLifecycle
) -> list[str]:
    """Why promotion must not happen: ERROR checks failed in the evaluation's run, or the
    challenger's model checks did not all pass for this very version."""
    problems = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.asset_check_evaluation
        if _failed(evaluation):
            problems.append(
                f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
            )
    for name in lc.model_checks:
        key = dg.AssetCheckKey(lc.model_key, name)
        record = instance.get_latest_asset_check_evaluation_record(key)
        entry = record.event if record is not None else None
        evaluation = entry.asset_check_evaluation if entry is not None else None
        if evaluation is None:  # no record, or only the plan of a run that never evaluated it
            problems.append(f"model check {name} {'never ran' if record is None else 'planned'}")
            continue
        checked = evaluation.metadata.get("model_version")
        if not evaluation.passed:
            problems.append(f"model check {name} failed")
        elif checked is None or checked.value != version:
            problems.append(f"model check {name} last ran on another version")
    return problems


def promotion_sensor(lc: ModelLifecycle, job: dg.JobDefinition) -> dg.SensorDefinition:
    """The asset sensor on the model's evaluation that requests its promotion job."""

    @dg.asset_sensor(
        asset_key=lc.evaluation_key,
        job=job,
        name=lc.sensor_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Reads each {lc.evaluation_key.to_user_string()} decision; requests "
        f"{lc.promote_job_name} on `promote` when no blocking check failed, and says why it "
        "skips otherwise.",
    )
    def promote_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        """Launch promotion for a `promote` decision, with the version in the run config."""
        metadata = {k: v.value for k, v in asset_event.asset_materialization.metadata.items()}
        decision = metadata.get("decision")
        version = metadata.get("challenger_version")
        champion = metadata.get("champion_version")
        if decision != PROMOTE:
            reasons = "; ".join(metadata.get("reasons") or []) or "no reason recorded"
            return dg.SkipReason(
                f"evaluation of version {version} decided {decision!r} (champion {champion}): "
                f"{reasons}"
            )
        problems = blocking_problems(context.instance, asset_event.run_id, version, lc)
        if problems:
            return dg.SkipReason(f"version {version} not promoted: {'; '.join(problems)}")
        over = f"over champion {champion}" if champion is not None else "(no champion yet)"
        return dg.RunRequest(
            run_key=f"promote-v{version}-{asset_event.run_id}",  # unique per sensor
            run_config=dg.RunConfig(
                ops={
                    lc.promote_op_name: PromoteConfig(
                        version=version,
                        reason=f"evaluation decided promote {over}",
                        evaluation_run_id=asset_event.run_id,
                    )
                }
            ),
            tags={
                "mlplatform/model": lc.registered_model,
                "mlplatform/model_version": str(version),
                "mlplatform/evaluation_run_id": asset_event.run_id,
            },
        )

    return promote_sensor
