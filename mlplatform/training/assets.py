"""A declared model's assets: `[prefix, <model>]` (train and register, alias challenger) and
`[prefix, <model>_evaluation]` (champion/challenger decision), built by `model_assets`.

MLflow and scikit-learn are imported when an asset runs, not when the code location loads.
"""

import dagster as dg

from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.tracking import MlflowResource

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
"""Step retries for transient errors (a locked store...); known failures are not retried."""


class TrainingConfig(dg.Config):
    """Hyperparameters of a training run (the defaults are the production model)."""

    model_type: str | None = None  # logistic_regression | ridge | hist_gradient_boosting
    features: list[str] = []  # a subset of the model's declared features; empty: all
    c: float = 1.0  # inverse regularization strength (logistic regression, ridge)
    max_iter: int | None = None  # solver or boosting iterations; None: 1000 or 200
    learning_rate: float = 0.05  # gradient boosting
    max_leaf_nodes: int = 15  # gradient boosting
    random_state: int = 0
    as_of: str | None = None  # as-of time of derived features of a legacy source


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


def _evaluation_config(lc: ModelLifecycle) -> type[dg.Config]:
    """The promotion bar's config class, with the model's gate as defaults."""
    gate = lc.gate

    class EvaluationConfig(dg.Config):
        """The promotion bar (MLflow `MetricThreshold` semantics on the model's metric)."""

        threshold: float = gate.threshold  # the metric's minimum (or maximum: lower is better)
        min_improvement: float | None = gate.min_improvement  # None: only "not worse"

    return EvaluationConfig


def model_assets(lc: ModelLifecycle) -> list[dg.AssetsDefinition]:
    """The training asset and the evaluation asset of one declared model."""
    name, metric = lc.registered_model, lc.scoring_metric
    evaluation_config = _evaluation_config(lc)

    @dg.asset(
        key=lc.model_key,
        deps=[lc.training_set.asset_key],
        group_name=lc.group_name,
        kinds={"mlflow", "scikitlearn"},
        owners=list(lc.owners),
        output_required=False,
        retry_policy=TRANSIENT_RETRY,
        metadata=lc.serving_metadata(),
        description=lc.description
        or f"Trains `{name}` on `{lc.training_set.key}` ({lc.problem_type}, label "
        f"`{lc.label}`) and registers a new version with alias `challenger`, tagged with the "
        "Dagster run, the git commit, the Delta versions read and its feature spec. Without "
        "labelled rows it records why and materializes nothing.",
    )
    def train_model(
        context: dg.AssetExecutionContext, config: TrainingConfig, mlflow: MlflowResource
    ):
        from mlplatform.training.model import Hyperparameters, NoTrainingData, train_and_register

        with mlflow.model_run(name, context.run_id):
            try:
                hp = Hyperparameters.from_config(config.model_dump(), lc)
                result = train_and_register(mlflow.settings, lc, hp, config.as_of, context.run_id)
            except NoTrainingData as err:
                mlflow.set_tag("mlplatform.skipped", str(err))
                return _skip(context, lc.model_key, str(err), err.counts)
            except ValueError as err:
                raise dg.Failure(description=str(err), allow_retries=False) from err
        score = result[f"holdout_{metric.name}"]
        context.log.info(
            f"registered {name} version {result['model_version']} as challenger "
            f"(holdout {metric.name} {score:.4f}, ceiling {result[f'ceiling_{metric.name}']})"
        )
        yield dg.MaterializeResult(metadata=_metadata(result))

    @dg.asset(
        key=lc.evaluation_key,
        deps=[lc.model_key],
        group_name=lc.group_name,
        kinds={"mlflow"},
        owners=list(lc.owners),
        output_required=False,
        retry_policy=TRANSIENT_RETRY,
        description=f"Champion/challenger decision for `{name}`: should the newly trained "
        f"version serve? (`promote`/`skip`, on holdout {metric.name}). The metadata "
        "(`decision`, `challenger_version`, `champion_version`, both scores, `reasons`) is what "
        "the promotion sensor reads.",
    )
    def evaluate_model(
        context: dg.AssetExecutionContext, config: evaluation_config, mlflow: MlflowResource
    ):
        from mlplatform.training.evaluate import Thresholds, evaluate_challenger

        thresholds = Thresholds(
            config.threshold, config.min_improvement, metric.name, metric.greater_is_better
        )
        result = evaluate_challenger(mlflow.settings, lc, thresholds, context.run_id)
        if result is None:
            return _skip(context, lc.evaluation_key, "no challenger version registered yet", {})
        context.log.info(
            f"decision {result['decision']} for version {result['challenger_version']}: "
            f"{'; '.join(result['reasons'])}"
        )
        yield dg.MaterializeResult(metadata=_metadata(result))

    return [train_model, evaluate_model]
