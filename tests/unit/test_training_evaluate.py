"""The promote/skip decision follows MLflow's MetricThreshold semantics."""

import pytest

from mlplatform.catalog import PROMOTE, SKIP
from mlplatform.training.evaluate import Thresholds, decide

BAR = Thresholds(threshold=0.7, min_improvement=0.01)


def test_first_model_meeting_the_minimum_is_promoted():
    d = decide(1, 0.75, None, None, BAR)
    assert d.decision == PROMOTE
    assert d.reasons == ["no champion yet; roc_auc 0.7500 >= minimum 0.7"]
    assert d.improvement is None


def test_first_model_below_the_minimum_is_skipped():
    d = decide(1, 0.65, None, None, BAR)
    assert d.decision == SKIP
    assert len(d.reasons) == 1 and "0.65" in d.reasons[0] and "0.7" in d.reasons[0]


@pytest.mark.parametrize(
    ("challenger", "champion", "expected"),
    [(0.80, 0.78, PROMOTE), (0.785, 0.78, SKIP), (0.79, 0.78, PROMOTE), (0.70, 0.78, SKIP)],
)
def test_improvement_over_champion(challenger, champion, expected):
    d = decide(3, challenger, 2, champion, BAR)
    assert d.decision == expected
    assert d.improvement == pytest.approx(challenger - champion)
    if expected == SKIP:
        assert any("Minimum Absolute Change" in r or "absolute" in r.lower() for r in d.reasons)


def test_both_rules_can_fail_and_both_reasons_are_kept():
    d = decide(3, 0.6, 2, 0.78, BAR)
    assert d.decision == SKIP
    assert len(d.reasons) >= 2


def test_without_min_improvement_the_challenger_must_not_be_worse():
    bar = Thresholds(threshold=0.7, min_improvement=None)
    assert decide(3, 0.78, 2, 0.78, bar).decision == PROMOTE
    assert decide(3, 0.77, 2, 0.78, bar).decision == SKIP


def test_the_champion_itself_is_never_re_promoted():
    d = decide(2, 0.9, 2, 0.9, BAR)
    assert d.decision == SKIP
    assert d.reasons == ["version 2 is already the champion"]
