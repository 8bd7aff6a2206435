"""The one error type of the deployment package."""

from __future__ import annotations


class DeployError(Exception):
    """A bundle cannot be rendered, validated or applied; the message says what to change."""
