"""Model quality metrics against scikit-learn."""

import numpy as np
import pytest
from sklearn import metrics as sk

from mlplatform.monitoring.model_quality import classification_quality, roc_auc


def test_quality_equals_scikit_learn_with_ties_and_nulls():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500).astype(float)
    scores = np.round(np.clip(0.3 * labels + rng.uniform(0, 0.7, 500), 0, 1), 2)  # ties
    labels[:20] = np.nan  # labels not arrived yet
    scores[20:25] = np.nan
    got = classification_quality(labels, scores)
    keep = np.isfinite(labels) & np.isfinite(scores)
    y, s = labels[keep].astype(int), scores[keep]
    predicted = (s >= 0.5).astype(int)
    assert got["labelled_count"] == 475
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(y, s), rel=1e-12)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert got["precision"] == pytest.approx(sk.precision_score(y, predicted))
    assert got["recall"] == pytest.approx(sk.recall_score(y, predicted))
    assert got["f1_score"] == pytest.approx(sk.f1_score(y, predicted))


def test_undefined_metrics_are_none():
    assert roc_auc(np.array([1, 1]), np.array([0.2, 0.9])) is None
    none = classification_quality(np.array([np.nan]), np.array([0.4]))
    assert none == {
        "labelled_count": 0,
        "roc_auc": None,
        "accuracy": None,
        "precision": None,
        "recall": None,
        "f1_score": None,
    }
    low = classification_quality(np.array([0.0, 1.0]), np.array([0.1, 0.2]))
    assert (low["precision"], low["recall"], low["roc_auc"], low["accuracy"]) == (
        None,
        0.0,
        1.0,
        0.5,
    )
