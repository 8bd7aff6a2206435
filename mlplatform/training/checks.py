"""Blocking checks on the registered model: metric floor, no NaN predictions, gold-compatible input.

The checks load the version the asset just registered back from MLflow (what serving would load),
so they test the logged artifact, not the object in memory. A failure blocks the evaluation and
therefore promotion.
"""

import dagster as dg

from mlplatform.catalog import CUSTOMER_ML_FEATURES, DERIVED_FROM, FEATURES, MODEL_KEY
from mlplatform.settings import Settings
from mlplatform.training.tracking import MlflowResource

ROC_AUC_FLOOR = 0.55
"""Below this the model is not meaningfully better than chance on the demo's signal."""

_NUMERIC = ("long", "integer", "short", "byte", "double", "float", "decimal")
_TIMESTAMP = ("timestamp", "timestamp_ntz")


def gold_schema(settings: Settings) -> dict[str, str]:
    """Column name -> Delta type name of the current gold table."""
    table = CUSTOMER_ML_FEATURES.store(settings).table()
    return {f.name: str(getattr(f.type, "type", f.type)).lower() for f in table.schema().fields}


def signature_problems(inputs: list[tuple[str, str]], gold: dict[str, str]) -> list[str]:
    """Why a model's input columns (name, type) cannot be computed from gold (empty when fine)."""
    problems = []
    for name, kind in inputs:
        if name not in FEATURES:
            problems.append(f"input {name!r} is not a known feature")
            continue
        if kind != "double":
            problems.append(f"input {name!r} is {kind}, expected double")
        source = DERIVED_FROM.get(name, name)
        wanted = _TIMESTAMP if name in DERIVED_FROM else _NUMERIC
        if source not in gold:
            problems.append(f"gold has no column {source!r} (needed for {name!r})")
        elif not gold[source].startswith(wanted):
            problems.append(f"gold column {source!r} is {gold[source]}, expected {wanted[0]}")
    return problems


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "roc_auc_above_floor",
            asset=MODEL_KEY,
            blocking=True,
            description=f"Holdout ROC AUC of the registered version >= {ROC_AUC_FLOOR}.",
        ),
        dg.AssetCheckSpec(
            "no_nan_predictions",
            asset=MODEL_KEY,
            blocking=True,
            description="The registered version predicts a finite probability in "
            "[0, 1] for every holdout customer.",
        ),
        dg.AssetCheckSpec(
            "signature_matches_gold_schema",
            asset=MODEL_KEY,
            blocking=True,
            description="Every model input is a double computable from a gold "
            "column of the right type.",
        ),
    ],
)
def churn_model_checks(context: dg.AssetCheckExecutionContext, mlflow: MlflowResource):
    """Load the version the latest materialization registered and check it."""
    import numpy as np

    from mlplatform.training import evaluate, registry
    from mlplatform.training.tracking import use_tracking_store

    event = context.instance.get_latest_materialization_event(MODEL_KEY)
    version = int(event.asset_materialization.metadata["model_version"].value)
    settings = mlflow.settings
    use_tracking_store(settings)
    client = registry.client(settings)
    mv = registry.get_version(client, version)
    data = evaluate.training_data(settings, mv)
    predictions = evaluate.predict(evaluate.load_version(version), data)
    y = data.split(True)["churned"].to_numpy()
    bad = int(np.sum(~np.isfinite(predictions) | (predictions < 0) | (predictions > 1)))
    auc = evaluate.roc_auc(y, np.nan_to_num(predictions, nan=0.5)) if len(y) else float("nan")
    signature = evaluate.model_signature(version)
    inputs = [(c.name, c.type.name) for c in signature.inputs.inputs] if signature else []
    problems = (
        signature_problems(inputs, gold_schema(settings)) if inputs else ["no input signature"]
    )
    common = {"model_version": version, "holdout_customers": len(y)}
    yield dg.AssetCheckResult(
        check_name="roc_auc_above_floor",
        passed=bool(auc >= ROC_AUC_FLOOR),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=common | {"holdout_roc_auc": auc, "floor": ROC_AUC_FLOOR},
    )
    yield dg.AssetCheckResult(
        check_name="no_nan_predictions",
        passed=bad == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=common | {"invalid_predictions": bad},
    )
    yield dg.AssetCheckResult(
        check_name="signature_matches_gold_schema",
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=common
        | {
            "inputs": dg.MetadataValue.json([n for n, _ in inputs]),
            "problems": dg.MetadataValue.json(problems),
        },
    )
