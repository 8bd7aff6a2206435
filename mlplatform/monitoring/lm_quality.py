"""Model quality of an inference log's labelled rows, with Lakehouse Monitoring's metric names.

Classification (labels and predictions compared as text): `accuracy_score`; `precision`,
`recall` and `f1_score` as structs of `one_vs_all` (per class), `macro` (mean over the classes
seen in labels or predictions) and `weighted` (by each class's count among the labels), an
undefined ratio counting 0 as scikit-learn's default does; `roc_auc` for two classes when a
probability column is given (the probability of the greater class in sorted order, scikit-learn's
`pos_label`); `confusion_matrix` as `{prediction, label, count}` rows. Regression:
`mean_squared_error`, `root_mean_squared_error`, `mean_absolute_error` (also as LM's
`mean_average_error`), `r2_score` (null for constant labels) and
`mean_absolute_percentage_error` (scikit-learn's: `|y - p| / max(|y|, eps)`).
"""

from __future__ import annotations

import numpy as np

from mlplatform.monitoring.model_quality import roc_auc


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _averaged(per_class: dict[str, float], support: dict[str, int]) -> dict:
    total = sum(support.values())
    return {
        "one_vs_all": [{"key": k, "value": v} for k, v in sorted(per_class.items())],
        "macro": float(np.mean(list(per_class.values()))) if per_class else None,
        "weighted": _ratio(sum(per_class[k] * support.get(k, 0) for k in per_class), total)
        if total
        else None,
    }


def classification(labels: list, predictions: list, probabilities: list | None = None) -> dict:
    """The classification metrics of the rows where label and prediction are both set."""
    rows = [
        (str(y), str(p), None if probabilities is None else probabilities[i])
        for i, (y, p) in enumerate(zip(labels, predictions, strict=True))
        if y is not None and p is not None
    ]
    if not rows:
        return {}
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    classes = sorted(set(y) | set(p))
    support = {c: int((y == c).sum()) for c in classes}
    precision, recall, f1 = {}, {}, {}
    for c in classes:
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        precision[c], recall[c] = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1[c] = _ratio(2 * tp, 2 * tp + fp + fn)
    pairs: dict[tuple[str, str], int] = {}
    for label, predicted in zip(y, p, strict=True):
        pairs[(predicted, label)] = pairs.get((predicted, label), 0) + 1
    out = {
        "accuracy_score": float((y == p).mean()),
        "precision": _averaged(precision, support),
        "recall": _averaged(recall, support),
        "f1_score": _averaged(f1, support),
        "confusion_matrix": [
            {"prediction": a, "label": b, "count": n} for (a, b), n in sorted(pairs.items())
        ],
    }
    label_classes = sorted(set(y))
    scores = [r[2] for r in rows]
    if probabilities is not None and len(label_classes) == 2 and None not in scores:
        positive = (y == label_classes[1]).astype(np.int64)
        out["roc_auc"] = roc_auc(positive, np.asarray(scores, dtype=np.float64))
    return out


def regression(labels: list, predictions: list) -> dict:
    """The regression metrics of the rows where label and prediction are both finite."""
    y = np.asarray([np.nan if v is None else v for v in labels], dtype=np.float64)
    p = np.asarray([np.nan if v is None else v for v in predictions], dtype=np.float64)
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    if not y.size:
        return {}
    errors = p - y
    mse = float(np.mean(errors**2))
    mae = float(np.mean(np.abs(errors)))
    total = float(np.sum((y - y.mean()) ** 2))
    eps = np.finfo(np.float64).eps
    return {
        "mean_squared_error": mse,
        "root_mean_squared_error": float(np.sqrt(mse)),
        "mean_absolute_error": mae,
        "mean_average_error": mae,
        "r2_score": 1.0 - float(np.sum(errors**2)) / total if total > 0 else None,
        "mean_absolute_percentage_error": float(
            np.mean(np.abs(errors) / np.maximum(np.abs(y), eps))
        ),
    }
