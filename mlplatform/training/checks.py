"""Blocking checks on a registered model version: metric bound, no invalid predictions, inputs
computable from the feature table (`model_checks` builds them for one declared model).

The checks load the version the asset just registered back from MLflow (what serving would load),
so they test the logged artifact, not the object in memory. A failure blocks the evaluation and
therefore promotion.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from mlplatform.settings import Settings
from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.tracking import MlflowResource

_NUMERIC = ("long", "integer", "short", "byte", "double", "float", "decimal", "tinyint")
_TIMESTAMP = ("timestamp", "timestamp_ntz")


def table_schema(settings: Settings, lc: ModelLifecycle) -> dict[str, str] | None:
    """Column name -> Delta type name of the model's current feature table (None: the model
    declares none; empty: the table does not exist yet)."""
    if lc.feature_table is None:
        return None
    if not lc.feature_table.store(settings).exists():
        return {}
    table = lc.feature_table.store(settings).table()
    return {f.name: str(getattr(f.type, "type", f.type)).lower() for f in table.schema().fields}


def signature_problems(
    inputs: list[tuple[str, str]],
    gold: dict[str, str] | None,
    features: Sequence[str],
    derived: Mapping[str, str],
) -> list[str]:
    """Why a model's input columns (name, type) cannot be computed from the feature table
    (`gold`: its column types; None: the model declares no feature table) (empty when fine)."""
    problems = []
    for name, kind in inputs:
        if name not in features:
            problems.append(f"input {name!r} is not a known feature")
            continue
        if kind != "double":
            problems.append(f"input {name!r} is {kind}, expected double")
        if gold is None:
            continue
        source = derived.get(name, name)
        wanted = _TIMESTAMP if name in derived else _NUMERIC
        if source not in gold:
            problems.append(f"gold has no column {source!r} (needed for {name!r})")
        elif not gold[source].startswith(wanted):
            problems.append(f"gold column {source!r} is {gold[source]}, expected {wanted[0]}")
    return problems


def _check_specs(lc: ModelLifecycle) -> list[dg.AssetCheckSpec]:
    metric, gate = lc.scoring_metric, lc.gate
    floor = gate.floor if gate.floor is not None else gate.threshold
    side = ">=" if metric.greater_is_better else "<="
    valid = "a finite probability in [0, 1]" if lc.classification else "a finite value"
    return [
        dg.AssetCheckSpec(
            lc.floor_check,
            asset=lc.model_key,
            blocking=True,
            description=f"Holdout {metric.name} of the registered version {side} {floor}.",
        ),
        dg.AssetCheckSpec(
            "no_nan_predictions",
            asset=lc.model_key,
            blocking=True,
            description=f"The registered version predicts {valid} for every holdout row.",
        ),
        dg.AssetCheckSpec(
            "signature_matches_gold_schema",
            asset=lc.model_key,
            blocking=True,
            description="Every model input is a double computable from a column of the "
            "feature table of the right type.",
        ),
    ]


def model_checks(lc: ModelLifecycle) -> dg.AssetChecksDefinition:
    """The three blocking checks of one declared model."""
    metric, gate = lc.scoring_metric, lc.gate
    floor = gate.floor if gate.floor is not None else gate.threshold

    @dg.multi_asset_check(specs=_check_specs(lc), name=f"{lc.asset_name}_checks")
    def checks(context: dg.AssetCheckExecutionContext, mlflow: MlflowResource):
        """Load the version the latest materialization registered and check it."""
        import numpy as np

        from mlplatform.training import evaluate, registry
        from mlplatform.training.tracking import use_tracking_store

        name = lc.registered_model
        event = context.instance.get_latest_materialization_event(lc.model_key)
        version = int(event.asset_materialization.metadata["model_version"].value)
        settings = mlflow.settings
        use_tracking_store(settings)
        client = registry.client(settings)
        mv = registry.get_version(client, version, name)
        data = evaluate.training_data(settings, lc, mv)
        predictions = evaluate.predict(evaluate.load_version(version, name), data)
        y = data.split(True)[lc.label].to_numpy()
        invalid = ~np.isfinite(predictions)
        if lc.classification:
            invalid |= (predictions < 0) | (predictions > 1)
        bad = int(np.sum(invalid))
        if len(y):
            fill = 0.5 if lc.classification else float(np.nanmean(y))
            score = metric.score(y, np.nan_to_num(predictions, nan=fill))
        else:
            score = float("nan")
        passed = score >= floor if metric.greater_is_better else score <= floor
        signature = evaluate.model_signature(version, name)
        inputs = [(c.name, c.type.name) for c in signature.inputs.inputs] if signature else []
        gold = table_schema(settings, lc)
        problems = (
            signature_problems(inputs, gold, lc.features, lc.derived)
            if inputs
            else ["no input signature"]
        )
        common = {"model_version": version, "holdout_rows": len(y)}
        yield dg.AssetCheckResult(
            check_name=lc.floor_check,
            passed=bool(passed),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=common | {f"holdout_{metric.name}": score, "floor": floor},
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

    return checks
