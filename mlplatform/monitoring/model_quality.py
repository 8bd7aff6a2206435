"""Model quality on the labelled predictions of a window: ROC AUC, accuracy, precision, recall, F1.

numpy and scipy only (importing scikit-learn would cost a second per run); the tests hold these
to scikit-learn's `roc_auc_score`, `accuracy_score`, `precision_score`, `recall_score` and
`f1_score`.
"""

from __future__ import annotations

import numpy as np

DECISION_THRESHOLD = 0.5
"""A prediction (a probability of the positive class) at or above this is the predicted label 1."""

QUALITY_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1_score")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); None with a single class."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if not positives or not negatives:
        return None
    from scipy.stats import rankdata  # imported on use (slow to import)

    ranks = rankdata(scores)
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def classification_quality(
    labels: np.ndarray, scores: np.ndarray, threshold: float = DECISION_THRESHOLD
) -> dict:
    """Quality of probability `scores` against 0/1 `labels` (rows with a null in either dropped).

    Returns:
        `labelled_count` and each of `QUALITY_METRICS` (None where undefined: no labelled rows,
        a single class for ROC AUC, no predicted positives for precision...).
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(labels) & np.isfinite(scores)
    labels, scores = labels[keep].astype(np.int64), scores[keep]
    out = {"labelled_count": int(labels.size)} | dict.fromkeys(QUALITY_METRICS)
    if not labels.size:
        return out
    predicted = (scores >= threshold).astype(np.int64)
    tp = int(((predicted == 1) & (labels == 1)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    fn = int(((predicted == 0) & (labels == 1)).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return out | {
        "roc_auc": roc_auc(labels, scores),
        "accuracy": float((predicted == labels).mean()),
        "precision": precision,
        "recall": recall,
        "f1_score": _ratio(2 * tp, 2 * tp + fp + fn),
    }


REGRESSION_METRICS = (
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "r2_score",
)


def regression_quality(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Errors of numeric `predictions` against `labels` (rows with a null in either dropped).

    Returns:
        `labelled_count` and each of `REGRESSION_METRICS` (None without labelled rows; `r2_score`
        None when the labels are constant, where scikit-learn's is undefined too).
    """
    labels = np.asarray(labels, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    keep = np.isfinite(labels) & np.isfinite(predictions)
    labels, predictions = labels[keep], predictions[keep]
    out = {"labelled_count": int(labels.size)} | dict.fromkeys(REGRESSION_METRICS)
    if not labels.size:
        return out
    errors = predictions - labels
    mse = float(np.mean(errors**2))
    total = float(np.sum((labels - labels.mean()) ** 2))
    return out | {
        "mean_squared_error": mse,
        "root_mean_squared_error": float(np.sqrt(mse)),
        "mean_absolute_error": float(np.mean(np.abs(errors))),
        "r2_score": 1.0 - float(np.sum(errors**2)) / total if total > 0 else None,
    }
