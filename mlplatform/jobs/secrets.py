"""A local secret store for `dbutils.secrets`: one file per secret at
`<root>/<scope>/<key>` (root: `$MLPLATFORM_HOME/secrets`), and the redaction of their values
from a task's log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class SecretMetadata:
    """An entry of `dbutils.secrets.list`."""

    key: str


@dataclass(frozen=True)
class SecretScope:
    """An entry of `dbutils.secrets.listScopes`."""

    name: str


class Secrets:
    """`dbutils.secrets` over a folder of scopes."""

    def __init__(self, root: Path | None):
        self._root = root

    def _scope(self, scope: str) -> Path:
        if self._root is None or not (self._root / scope).is_dir():
            raise KeyError(f"Secret scope {scope!r} does not exist")
        return self._root / scope

    def get(self, scope: str, key: str) -> str:
        path = self._scope(scope) / key
        if "/" in key or not path.is_file():
            raise KeyError(f"Secret {key!r} does not exist in scope {scope!r}")
        return path.read_text().rstrip("\n")

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802
        return self.get(scope, key).encode()

    def list(self, scope: str) -> list[SecretMetadata]:
        return [SecretMetadata(p.name) for p in sorted(self._scope(scope).iterdir())]

    def listScopes(self) -> list[SecretScope]:  # noqa: N802
        if self._root is None or not self._root.is_dir():
            return []
        return [SecretScope(p.name) for p in sorted(self._root.iterdir()) if p.is_dir()]


def redact(text: str, root: Path | None) -> str:
    """`text` with every stored secret value (of 4 characters or more) replaced."""
    if root is None or not root.is_dir():
        return text
    values = {p.read_text().rstrip("\n") for p in root.glob("*/*") if p.is_file()}
    for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
