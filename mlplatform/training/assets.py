"""The model assets: `ml/churn_model` (train and register) and `ml/churn_model_evaluation`.

MLflow and scikit-learn are imported when an asset runs, not when the code location loads.
"""

import dagster as dg

from mlplatform.catalog import CHURN_TRAINING_SET, EVALUATION_KEY, MODEL_KEY
from mlplatform.training.tracking import MlflowResource

OWNERS = ["team:data-science"]
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
"""Step retries for transient errors (a locked store...); known failures are not retried."""

__all__ = ["EVALUATION_KEY", "MODEL_KEY", "churn_model", "churn_model_evaluation"]


class TrainingConfig(dg.Config):
    """Hyperparameters of a training run (the defaults are the production model)."""

    model_type: str = "logistic_regression"  # or "hist_gradient_boosting"
    features: list[str] = []  # a subset of mlplatform.catalog.FEATURES; empty: all
    c: float = 1.0  # inverse regularization strength (logistic regression)
    max_iter: int | None = None  # solver or boosting iterations; None: 1000 or 200
    learning_rate: float = 0.05  # gradient boosting
    max_leaf_nodes: int = 15  # gradient boosting
    random_state: int = 0
    as_of: str | None = None  # ISO time recency is measured against; default: latest event


class EvaluationConfig(dg.Config):
    """The promotion bar (MLflow `MetricThreshold` semantics on holdout ROC AUC)."""

    min_roc_auc: float = 0.65
    min_improvement: float | None = 0.005  # over the champion; None: only "not worse"


def _metadata(values: dict) -> dict:
    """Materialization metadata; None becomes an explicit null, lists and dicts JSON."""
    out = {}
    for key, value in values.items():
        if value is None:
            out[key] = dg.MetadataValue.null()
        elif isinstance(value, dict | list):
            out[key] = dg.MetadataValue.json(value)
        else:
            out[key] = value
    return out


def _skip(context: dg.AssetExecutionContext, key: dg.AssetKey, reason: str, meta: dict) -> None:
    """Record why an asset was not materialized (an observation, visible in the UI)."""
    context.log.warning(f"{key.to_user_string()} not materialized: {reason}")
    context.log_event(
        dg.AssetObservation(asset_key=key, metadata=_metadata({"skipped": reason, **meta}))
    )


@dg.asset(
    key=MODEL_KEY,
    deps=[CHURN_TRAINING_SET.asset_key],
    group_name="ml",
    kinds={"mlflow", "scikitlearn"},
    owners=OWNERS,
    output_required=False,
    retry_policy=TRANSIENT_RETRY,
)
def churn_model(context: dg.AssetExecutionContext, config: TrainingConfig, mlflow: MlflowResource):
    """The churn predictor: how likely each customer is to leave, from the point-in-time
    training set (`ml/churn_training_set`).

    Registers a new version of `churn_predictor` in MLflow with alias `challenger`, tagged with
    the Dagster run, the git commit, the Delta versions of the tables read and its feature spec
    (feature table, lookup key, timestamp key, feature names, history version).
    Without labelled customers (a fresh home) it records why and materializes nothing.
    """
    from mlplatform.training.model import Hyperparameters, NoTrainingData, train_and_register

    try:
        hp = Hyperparameters.from_config(config.model_dump())
        result = train_and_register(mlflow.settings, hp, config.as_of, context.run_id)
    except NoTrainingData as err:
        mlflow.set_tag("mlplatform.skipped", str(err))
        return _skip(context, MODEL_KEY, str(err), err.counts)
    except ValueError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    context.log.info(
        f"registered churn_predictor version {result['model_version']} as challenger "
        f"(holdout ROC AUC {result['holdout_roc_auc']:.4f}, ceiling {result['ceiling_roc_auc']})"
    )
    yield dg.MaterializeResult(metadata=_metadata(result))


@dg.asset(
    key=EVALUATION_KEY,
    deps=[MODEL_KEY],
    group_name="ml",
    kinds={"mlflow"},
    owners=OWNERS,
    output_required=False,
    retry_policy=TRANSIENT_RETRY,
)
def churn_model_evaluation(
    context: dg.AssetExecutionContext, config: EvaluationConfig, mlflow: MlflowResource
):
    """Champion/challenger decision: should the newly trained version serve? (`promote`/`skip`).

    Both versions are scored on the holdout customers of the challenger's training data. The
    metadata (`decision`, `challenger_version`, `champion_version`, both metrics, `reasons`) is
    the task value the promotion sensor reads.
    """
    from mlplatform.training.evaluate import Thresholds, evaluate_challenger

    thresholds = Thresholds(config.min_roc_auc, config.min_improvement)
    result = evaluate_challenger(mlflow.settings, thresholds, context.run_id)
    if result is None:
        return _skip(context, EVALUATION_KEY, "no challenger version registered yet", {})
    context.log.info(
        f"decision {result['decision']} for version {result['challenger_version']}: "
        f"{'; '.join(result['reasons'])}"
    )
    yield dg.MaterializeResult(metadata=_metadata(result))
