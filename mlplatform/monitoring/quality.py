"""Model quality on the labelled predictions of a window: ROC AUC, accuracy, precision, recall, F1.

numpy and scipy only (importing scikit-learn would cost a second per run); the tests hold these
to scikit-learn's `roc_auc_score`, `accuracy_score`, `precision_score`, `recall_score` and
`f1_score`.
"""

from __future__ import annotations

import numpy as np

DECISION_THRESHOLD = 0.5
"""A prediction (probability of churn) at or above this is the predicted label 1."""

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
