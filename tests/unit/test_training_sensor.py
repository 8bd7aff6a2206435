"""The promotion sensor, evaluated with build_sensor_context on a real instance and real events."""

import dagster as dg
import pytest
from customer_churn.models import CHURN

from mlplatform.training.jobs import promote_job
from mlplatform.training.sensors import promotion_sensor
from tests.platform_resources import platform_resources

MODEL_KEY, EVALUATION_KEY, MODEL_CHECKS = CHURN.model_key, CHURN.evaluation_key, CHURN.model_checks
promote_model_job = promote_job(CHURN)
promote_model_sensor = promotion_sensor(CHURN, promote_model_job)
DEFS = dg.Definitions(
    jobs=[promote_model_job], sensors=[promote_model_sensor], resources=platform_resources()
)


def stub_assets(
    decision: str,
    version: int,
    champion: int | None,
    failing_check: str | None,
    checked_version: int | None = None,
):
    """Stand-ins for the model asset (with its checks) and the evaluation, same keys."""

    @dg.asset(
        key=MODEL_KEY, check_specs=[dg.AssetCheckSpec(c, asset=MODEL_KEY) for c in MODEL_CHECKS]
    )
    def model():
        yield dg.MaterializeResult(metadata={"model_version": version})
        for name in MODEL_CHECKS:
            yield dg.AssetCheckResult(
                check_name=name,
                passed=name != failing_check,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"model_version": checked_version or version},
            )

    @dg.asset(key=EVALUATION_KEY, deps=[MODEL_KEY])
    def evaluation():
        return dg.MaterializeResult(
            metadata={
                "decision": decision,
                "challenger_version": version,
                "champion_version": champion if champion is not None else dg.MetadataValue.null(),
                "reasons": dg.MetadataValue.json(["because"]),
            }
        )

    return [model, evaluation]


def tick(instance: dg.DagsterInstance, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=DEFS)
    return promote_model_sensor.evaluate_tick(context)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def materialize(instance, *args, **kwargs) -> str:
    result = dg.materialize(stub_assets(*args, **kwargs), instance=instance, raise_on_error=False)
    return result.run_id


def test_promote_decision_requests_the_job_with_the_version(instance):
    run_id = materialize(instance, "promote", 3, 2, None)
    result = tick(instance)
    assert result.skip_message is None
    [request] = result.run_requests
    assert request.run_key == f"promote-v3-{run_id}"
    config = request.run_config["ops"]["promote_champion"]["config"]
    assert config == {
        "version": 3,
        "reason": "evaluation decided promote over champion 2",
        "evaluation_run_id": run_id,
    }
    assert request.tags["mlplatform/model_version"] == "3"
    # the same evaluation is not acted on twice
    again = tick(instance, cursor=result.cursor)
    assert again.run_requests == [] and "No new materialization" in again.skip_message


def test_first_model_promotion_says_there_was_no_champion(instance):
    materialize(instance, "promote", 1, None, None)
    [request] = tick(instance).run_requests
    assert request.run_config["ops"]["promote_champion"]["config"]["reason"] == (
        "evaluation decided promote (no champion yet)"
    )


def test_skip_decision_skips_with_the_reasons(instance):
    materialize(instance, "skip", 4, 3, None)
    result = tick(instance)
    assert result.run_requests == []
    assert result.skip_message == ("evaluation of version 4 decided 'skip' (champion 3): because")


def test_a_failed_model_check_blocks_promotion(instance):
    materialize(instance, "promote", 5, 3, "no_nan_predictions")
    result = tick(instance)
    assert result.run_requests == []
    assert "check ml/churn_model:no_nan_predictions failed" in result.skip_message


def test_checks_of_another_version_do_not_count(instance):
    materialize(instance, "promote", 6, 3, None, checked_version=5)
    result = tick(instance)
    assert result.run_requests == []
    assert "last ran on another version" in result.skip_message


def test_model_checks_that_never_ran_block_promotion(instance):
    @dg.asset(key=EVALUATION_KEY)
    def evaluation_only():
        return dg.MaterializeResult(metadata={"decision": "promote", "challenger_version": 7})

    dg.materialize([evaluation_only], instance=instance)
    result = tick(instance)
    assert result.run_requests == []
    assert "model check roc_auc_above_floor never ran" in result.skip_message
