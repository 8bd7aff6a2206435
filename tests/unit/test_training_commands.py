"""`mlplatform promote` and `rollback`: messages, exit codes and audit, on a temporary registry."""

import pytest
from click.testing import CliRunner
from customer_churn.models import CHURN

from mlplatform.training import registry
from mlplatform.training.commands import promote_command, rollback_command


@pytest.fixture
def registry_client(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "mlflow").mkdir()
    client = registry.client()
    client.create_registered_model(CHURN.registered_model)
    for _ in range(2):
        client.create_model_version(CHURN.registered_model, source=tmp_path.as_uri())
    return client


def champion(client) -> int | None:
    return registry.alias_version(client, registry.CHAMPION, CHURN.registered_model)


def test_promote_then_rollback(registry_client):
    runner = CliRunner()
    result = runner.invoke(promote_command, ["--version", "1"])
    assert result.exit_code == 0, result.output
    assert "champion: version 1 (was none)" in result.output
    result = runner.invoke(promote_command, ["--version", "2", "--reason", "ticket 42"])
    assert result.exit_code == 0, result.output
    assert "previous_champion: 1" in result.output
    tags = registry_client.get_model_version(CHURN.registered_model, "2").tags
    assert tags["audit.promoted_reason"] == "ticket 42"
    assert tags["audit.promoted_by"] == registry.current_user()
    result = runner.invoke(rollback_command, ["--reason", "latency"])
    assert result.exit_code == 0, result.output
    assert champion(registry_client) == 1
    assert registry_client.get_model_version(CHURN.registered_model, "2").tags[
        "audit.rolled_back_reason"
    ] == ("latency")


def test_promote_unknown_version_fails_and_changes_nothing(registry_client):
    runner = CliRunner()
    runner.invoke(promote_command, ["--version", "1"])
    result = runner.invoke(promote_command, ["--version", "9"])
    assert result.exit_code == 1
    assert "Error: unknown version 9 of 'churn_predictor' (registered versions: 1, 2)" in (
        result.output
    )
    assert champion(registry_client) == 1


def test_rollback_with_nothing_to_roll_back_to(registry_client):
    runner = CliRunner()
    runner.invoke(promote_command, ["--version", "1"])
    result = runner.invoke(rollback_command, [])
    assert result.exit_code == 1
    assert "nothing to roll back to" in result.output
    assert champion(registry_client) == 1


def test_promote_again_is_a_no_op(registry_client):
    runner = CliRunner()
    runner.invoke(promote_command, ["--version", "2"])
    result = runner.invoke(promote_command, ["--version", "2"])
    assert result.exit_code == 0
    assert "already is the champion" in result.output
