"""Following the champion alias: load once per version, keep serving through failures, poll."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from mlplatform.serving.model_holder import LoadedModel, ModelHolder
from mlplatform.settings import get_settings


class Registry:
    """Stands in for the MLflow registry: the alias target and a loader that counts loads."""

    def __init__(self):
        self.version: str | None = None
        self.loads: list[str] = []
        self.broken: set[str] = set()

    def load(self, name: str, version: str, alias: str) -> LoadedModel:
        self.loads.append(version)
        if version in self.broken:
            raise OSError(f"artifacts of version {version} are gone")
        return LoadedModel(name, version, alias, None, lambda f: [], datetime.now(UTC))


def holder_for(registry: Registry, home, poll: float = 60.0) -> ModelHolder:
    holder = ModelHolder(
        get_settings(), poll_seconds=poll, name="churn_predictor", loader=registry.load
    )
    holder._resolve = lambda: registry.version
    return holder


def test_follows_the_alias_and_loads_each_version_once(home):
    registry = Registry()
    holder = holder_for(registry, home)
    assert holder.refresh() is False and holder.current is None  # no champion yet
    registry.version = "1"
    assert holder.refresh() is True and holder.current.version == "1"
    assert holder.refresh() is False and registry.loads == ["1"]
    registry.version = "2"
    assert holder.refresh() is True and holder.current.version == "2"
    registry.version = "1"  # a rollback
    assert holder.refresh() is True and holder.current.version == "1"
    assert registry.loads == ["1", "2", "1"]


def test_a_version_that_does_not_load_leaves_the_current_one_serving(home):
    registry = Registry()
    holder = holder_for(registry, home)
    registry.version = "1"
    holder.refresh()
    registry.version, registry.broken = "2", {"2"}
    assert holder.refresh() is False
    assert holder.current.version == "1"
    assert holder.last_error == "OSError: artifacts of version 2 are gone"
    registry.broken = set()
    assert holder.refresh() is True and holder.current.version == "2"
    assert holder.last_error is None


def test_the_poller_switches_without_being_asked(home):
    registry = Registry()
    registry.version = "1"
    holder = holder_for(registry, home, poll=0.05)
    holder.refresh()
    holder.start()
    try:
        registry.version = "2"
        deadline = time.monotonic() + 5
        while holder.current.version != "2" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert holder.current.version == "2"
    finally:
        holder.stop()
