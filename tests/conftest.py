"""Shared fixtures: a fresh MLPLATFORM_HOME per test."""

from __future__ import annotations

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh, empty data home, set as MLPLATFORM_HOME for the test."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("MLPLATFORM_HOME", str(root))
    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    monkeypatch.delenv("MLPLATFORM_ENV", raising=False)
    monkeypatch.delenv("MLPLATFORM_FAILPOINT", raising=False)
    return root
