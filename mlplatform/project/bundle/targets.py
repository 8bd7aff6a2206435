"""Targets: pick one (`-t`, else the one marked `default: true`), merge its overrides into the
top level, and apply its `mode` and `presets` as the documented deployment modes do."""

from __future__ import annotations

import re
from typing import Any

from mlplatform.project.bundle.errors import Problems
from mlplatform.project.bundle.files import Places, place
from mlplatform.project.bundle.merge import merge, move_places

MERGED_SECTIONS = (
    "bundle",
    "workspace",
    "resources",
    "artifacts",
    "sync",
    "permissions",
    "run_as",
    "presets",
)
MODES = ("development", "production")
PAUSE_STATUSES = ("PAUSED", "UNPAUSED")
UC_NAMED_KINDS = ("registered_models", "model_serving_endpoints", "schemas", "volumes")


def select_target(
    config: dict, name: str | None, places: Places, problems: Problems
) -> tuple[str, dict]:
    """The selected target's name and mapping (`default` with no mapping when none is declared)."""
    targets = config.get("targets") or config.get("environments")  # the older name
    if not isinstance(targets, dict) or not targets:
        if name not in (None, "default"):
            problems.error(f'unknown target "{name}": the bundle declares no targets')
        return name or "default", {}
    known = ", ".join(targets)
    if name is not None:
        if name not in targets:
            problems.error(
                f'unknown target "{name}": the bundle declares {known}', place(places, ("targets",))
            )
            return name, {}
        return name, targets[name] or {}
    defaults = [
        t for t, body in targets.items() if isinstance(body, dict) and body.get("default") is True
    ]
    if len(defaults) > 1:
        problems.error(
            f"multiple targets are marked default: {', '.join(defaults)}; mark one",
            place(places, ("targets", defaults[1], "default")),
        )
        return defaults[0], targets[defaults[0]]
    if defaults:
        return defaults[0], targets[defaults[0]]
    if len(targets) == 1:
        only = next(iter(targets))
        return only, targets[only] or {}
    problems.error(
        f"no target given and none is marked default: pass -t with one of {known}",
        place(places, ("targets",)),
    )
    return next(iter(targets)), {}


def apply_target(config: dict, name: str, target: dict, places: Places, problems: Problems) -> None:
    """Merge the target's overrides into `config` and record `bundle.target` and `bundle.mode`."""
    at = ("targets" if "targets" in config else "environments", name)
    if not isinstance(target, dict):
        target = {}
    for section in MERGED_SECTIONS:
        value = target.get(section)
        if value is None:
            continue
        old = config.get(section)
        if isinstance(old, dict) and isinstance(value, dict):
            merge(old, value, (section,), (*at, section), places)
        else:
            config[section] = value
            move_places(places, (*at, section), (section,))
    bundle = config.setdefault("bundle", {})
    if isinstance(target.get("git"), dict):
        git = bundle.setdefault("git", {})
        merge(git, target["git"], ("bundle", "git"), (*at, "git"), places)
    for key in ("cluster_id", "compute_id"):
        if key in target:
            bundle[key] = target[key]
    mode = target.get("mode")
    if mode is not None:
        if mode not in MODES:
            problems.error(
                f'unknown mode "{mode}": expected development or production',
                place(places, (*at, "mode")),
            )
        else:
            bundle["mode"] = mode
            move_places(places, (*at, "mode"), ("bundle", "mode"))
    bundle["target"] = name
    config.pop("targets", None)
    config.pop("environments", None)


def effective_presets(config: dict, short_name: str) -> dict[str, Any]:
    """The target's presets, over the defaults its `mode: development` brings."""
    presets: dict[str, Any] = {}
    if config.get("bundle", {}).get("mode") == "development":
        presets = {
            "name_prefix": f"[dev {short_name}] ",
            "pipelines_development": True,
            "trigger_pause_status": "PAUSED",
            "tags": {"dev": short_name},
        }
    given = config.get("presets") or {}
    if isinstance(given, dict):
        presets.update(given)
    return presets


def apply_presets(
    config: dict, presets: dict[str, Any], places: Places, problems: Problems
) -> None:
    """Prefix names, pause triggers, mark pipelines development, tag jobs and pipelines,
    in place."""
    resources = config.get("resources") or {}
    status = presets.get("trigger_pause_status")
    if status is not None and status not in PAUSE_STATUSES:
        problems.error(
            f'presets.trigger_pause_status is "{status}": expected PAUSED or UNPAUSED',
            place(places, ("presets", "trigger_pause_status")),
        )
        status = None
    prefix = presets.get("name_prefix") or ""
    for kind, items in resources.items():
        if not isinstance(items, dict):
            continue
        for body in items.values():
            if not isinstance(body, dict):
                continue
            if prefix and isinstance(body.get("name"), str):
                body["name"] = _prefixed(kind, body["name"], prefix)
            if kind == "pipelines" and presets.get("pipelines_development") is True:
                body["development"] = True  # development mode marks every pipeline
            if kind == "pipelines":
                _add_tags(body, presets.get("tags"))
            if kind == "jobs":
                _job_presets(body, presets, status)
            if kind == "quality_monitors" and status and isinstance(body.get("schedule"), dict):
                body["schedule"].setdefault("pause_status", status)


def _job_presets(job: dict, presets: dict, status: str | None) -> None:
    if status:
        for key in ("schedule", "trigger", "continuous"):
            if isinstance(job.get(key), dict):
                job[key].setdefault("pause_status", status)
    if presets.get("jobs_max_concurrent_runs") is not None:
        job.setdefault("max_concurrent_runs", presets["jobs_max_concurrent_runs"])
    _add_tags(job, presets.get("tags"))


def _add_tags(body: dict, tags: Any) -> None:
    """Add the presets' tags a job or pipeline does not set itself."""
    if isinstance(tags, dict) and tags:
        own = body.setdefault("tags", {})
        if isinstance(own, dict):
            for key, value in tags.items():
                own.setdefault(key, value)


def _prefixed(kind: str, name: str, prefix: str) -> str:
    if kind in UC_NAMED_KINDS:
        # Unity Catalog names take no spaces or brackets: `[dev jane] ` becomes `dev_jane_`
        return re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).lstrip("_") + name
    if kind == "experiments" and "/" in name:
        folder, _, base = name.rpartition("/")
        return f"{folder}/{prefix}{base}"
    return prefix + name


def check_production(config: dict, actual_branch: str | None, places: Places, problems: Problems):
    """What `mode: production` checks: no pipeline in development, the configured git branch."""
    if config.get("bundle", {}).get("mode") != "production":
        return
    for key, body in (config.get("resources", {}).get("pipelines") or {}).items():
        if isinstance(body, dict) and body.get("development") is True:
            problems.error(
                "target with 'mode: production' cannot include a pipeline with 'development: true'",
                place(places, ("resources", "pipelines", key, "development")),
            )
    expected = (config.get("bundle", {}).get("git") or {}).get("branch")
    if expected and actual_branch and expected != actual_branch:
        problems.error(
            f"not on the right Git branch for 'mode: production': expected {expected}, "
            f"on {actual_branch}",
            place(places, ("bundle", "git", "branch")),
        )
