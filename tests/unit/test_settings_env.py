"""Numbers from environment variables: one helper, the error each caller names."""

from __future__ import annotations

import click
import pytest

from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.loader import retrain_policy
from mlplatform.settings import SettingsError, env_number


def test_unset_or_empty_gives_the_default_and_a_value_its_number(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_TEST_N", raising=False)
    assert env_number("MLPLATFORM_TEST_N", 2.5) == 2.5
    monkeypatch.setenv("MLPLATFORM_TEST_N", "")
    assert env_number("MLPLATFORM_TEST_N", 3, int) == 3
    monkeypatch.setenv("MLPLATFORM_TEST_N", "7")
    assert env_number("MLPLATFORM_TEST_N", 3, int) == 7
    assert env_number("MLPLATFORM_TEST_N", 0.5) == 7.0


def test_a_bad_value_is_named_with_the_callers_error(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_TEST_N", "1.5x")
    with pytest.raises(SettingsError, match=r"^MLPLATFORM_TEST_N='1.5x' is not a number$"):
        env_number("MLPLATFORM_TEST_N", 1.0)
    with pytest.raises(click.BadParameter, match="MLPLATFORM_TEST_N='1.5x' is not an integer"):
        env_number("MLPLATFORM_TEST_N", 1, int, click.BadParameter)


def test_monitoring_keeps_its_own_error(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_RETRAIN_COOLDOWN_HOURS", "soon")
    with pytest.raises(MonitoringConfigError, match="MLPLATFORM_RETRAIN_COOLDOWN_HOURS='soon' is"):
        retrain_policy()


def test_serve_names_a_bad_poll_interval(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from mlplatform.serving.commands import serve_command

    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("MLPLATFORM_SERVING_POLL_S", "often")
    result = CliRunner().invoke(serve_command, [])
    assert result.exit_code == 2
    assert "MLPLATFORM_SERVING_POLL_S='often' is not a number" in result.output
