"""The model registry: aliases, promotion, rollback and their audit trail in version tags.

`champion` is the version serving uses, `challenger` the latest trained one, and
`previous_champion` the champion a promotion replaced (what `rollback` restores). Every move is
written to the versions it touches: who, when and why (`audit.*` tags) plus an `audit.log` tag
holding the version's recent history as JSON.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from mlplatform.catalog import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from mlplatform.settings import Settings, get_settings
from mlplatform.training.store import ensure_embedded_store

__all__ = ["CHALLENGER", "CHAMPION", "PREVIOUS_CHAMPION", "RegistryError"]

AUDIT_LOG_TAG = "audit.log"
REPLACED_TAG = "audit.replaced_version"
_AUDIT_LOG_ENTRIES = 20
_TAG_VALUE_LIMIT = 5000


class RegistryError(Exception):
    """A registry action cannot be done (nothing was changed)."""


@dataclass(frozen=True)
class AliasMove:
    """What a promotion or rollback did."""

    action: str
    champion: int
    replaced: int | None  # the champion before
    previous_champion: int | None  # the previous_champion alias after
    changed: bool = True


def client(settings: Settings | None = None) -> MlflowClient:
    """A client on the settings' tracking store (the registry lives there too)."""
    settings = settings or get_settings()
    ensure_embedded_store(settings)
    uri = settings.tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def alias_version(mlflow_client: MlflowClient, alias: str, name: str) -> int | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    try:
        return int(mlflow_client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def version_numbers(mlflow_client: MlflowClient, name: str) -> list[int]:
    try:
        found = mlflow_client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return []
    return sorted(int(v.version) for v in found)


def get_version(mlflow_client: MlflowClient, version: int, name: str) -> ModelVersion:
    """A registered version.

    Raises:
        RegistryError: the version does not exist (the message lists the ones that do).
    """
    try:
        return mlflow_client.get_model_version(name, str(version))
    except MlflowException:
        known = version_numbers(mlflow_client, name)
        listed = ", ".join(map(str, known)) if known else "none"
        raise RegistryError(
            f"unknown version {version} of {name!r} (registered versions: {listed})"
        ) from None


def _audit(
    mlflow_client: MlflowClient,
    version: int,
    action: str,
    actor: str,
    reason: str,
    extra: dict | None,
    name: str,
) -> None:
    """Write `audit.<action>_by/_at/_reason` and append to the version's `audit.log`."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    tags = {f"audit.{action}_by": actor, f"audit.{action}_at": at, f"audit.{action}_reason": reason}
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(name, str(version), key, value)
    current = get_version(mlflow_client, version, name).tags.get(AUDIT_LOG_TAG)
    log = json.loads(current) if current else []
    log.append({"action": action, "by": actor, "at": at, "reason": reason, **(extra or {})})
    text = json.dumps(log[-_AUDIT_LOG_ENTRIES:])
    while len(text) > _TAG_VALUE_LIMIT and len(log) > 1:
        log = log[1:]
        text = json.dumps(log[-_AUDIT_LOG_ENTRIES:])
    mlflow_client.set_model_version_tag(name, str(version), AUDIT_LOG_TAG, text)


def promote(
    mlflow_client: MlflowClient, version: int, actor: str, reason: str, name: str
) -> AliasMove:
    """Make `version` the champion; the champion it replaces becomes `previous_champion`.

    Promoting the current champion again changes nothing (so a retried job is harmless).

    Raises:
        RegistryError: unknown version; nothing is changed.
    """
    get_version(mlflow_client, version, name)
    current = alias_version(mlflow_client, CHAMPION, name)
    previous = alias_version(mlflow_client, PREVIOUS_CHAMPION, name)
    if current == version:
        return AliasMove("promote", version, current, previous, changed=False)
    if current is not None:
        mlflow_client.set_registered_model_alias(name, PREVIOUS_CHAMPION, str(current))
        previous = current
    mlflow_client.set_registered_model_alias(name, CHAMPION, str(version))
    mlflow_client.set_model_version_tag(
        name, str(version), REPLACED_TAG, "" if current is None else str(current)
    )
    _audit(mlflow_client, version, "promoted", actor, reason, {"replaced": current}, name)
    if current is not None:
        _audit(mlflow_client, current, "demoted", actor, reason, {"by_version": version}, name)
    return AliasMove("promote", version, current, previous)


def rollback(mlflow_client: MlflowClient, actor: str, reason: str, name: str) -> AliasMove:
    """Make `previous_champion` the champion again.

    The alias `previous_champion` then moves to the champion the restored version had replaced
    when it was promoted (or is removed), so repeated rollbacks walk back through history.

    Raises:
        RegistryError: no champion, or no previous champion to roll back to; nothing is changed.
    """
    current = alias_version(mlflow_client, CHAMPION, name)
    target = alias_version(mlflow_client, PREVIOUS_CHAMPION, name)
    if current is None:
        raise RegistryError(f"{name!r} has no champion: nothing to roll back")
    if target is None:
        raise RegistryError(
            f"nothing to roll back to: {name!r} has no {PREVIOUS_CHAMPION} alias "
            f"(champion is version {current})"
        )
    before = get_version(mlflow_client, target, name).tags.get(REPLACED_TAG) or ""
    earlier = int(before) if before.isdigit() else None
    if earlier is not None and (
        earlier == current or earlier not in version_numbers(mlflow_client, name)
    ):
        earlier = None
    mlflow_client.set_registered_model_alias(name, CHAMPION, str(target))
    if earlier is None:
        mlflow_client.delete_registered_model_alias(name, PREVIOUS_CHAMPION)
    else:
        mlflow_client.set_registered_model_alias(name, PREVIOUS_CHAMPION, str(earlier))
    _audit(mlflow_client, current, "rolled_back", actor, reason, {"restored": target}, name)
    _audit(mlflow_client, target, "restored", actor, reason, {"rolled_back": current}, name)
    return AliasMove("rollback", target, current, earlier)
