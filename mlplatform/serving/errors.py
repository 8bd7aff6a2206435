"""The one error of the serving request path: a request the server refuses."""

from __future__ import annotations


class PayloadError(Exception):
    """A request the server refuses: `status` is the HTTP status, the message says why."""

    def __init__(
        self, status: int, message: str, code: str | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code  # the answer's error_code when not the status's default
        self.details = details or {}  # extra fields of the answer
