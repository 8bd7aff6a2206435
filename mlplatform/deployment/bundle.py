"""Load a deployment bundle: deploy/base.yaml with deploy/targets/<target>.yaml merged over it.

Merging follows Databricks Asset Bundles: mappings merge key by key, lists and scalars of the target
replace those of the base. Values may reference `${var.NAME}`, `${bundle.name}`, `${bundle.target}`
and `${bundle.user}`; a variable takes its value from the environment variable
`MLPLATFORM_VAR_<NAME>`, else from the target's `variables:`, else from the default declared in
the base. A reference that is the whole value keeps the variable's type.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from mlplatform.deployment.errors import DeployError
from mlplatform.settings.variables import BUNDLE_VARIABLE, DEPLOY_USER

# mlplatform is installed as files (never zipped): the packaged folder is a real directory
DEFAULT_BUNDLE_DIR = Path(str(files("mlplatform") / "templates" / "deploy"))
"""The bundle shipped with the package (a copy of the repository's deploy/)."""
VAR_ENV_PREFIX = BUNDLE_VARIABLE.prefix
MODES = ("development", "default", "production")
TOP_LEVEL_KEYS = frozenset(
    {"bundle", "mode", "git", "variables", "code_locations", "image", "resources", "instance"}
    | {"helm", "workflows"}
    | {"monitoring"}  # the monitor options, rendered as monitor.yaml
)
_REF = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Bundle:
    """A target's configuration, merged and resolved, with where it came from."""

    target: str
    config: dict[str, Any]
    bundle_dir: Path
    user: str
    warnings: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        """`development`, `default` or `production`."""
        return self.config.get("mode", "default")

    @property
    def target_file(self) -> str:
        """The target's file as a person would name it (relative to the repository)."""
        return display_path(self.bundle_dir / "targets" / f"{self.target}.yaml", self.bundle_dir)


def display_path(path: Path, bundle_dir: Path) -> str:
    """`path` relative to the folder holding the bundle, for error messages."""
    try:
        return str(path.relative_to(bundle_dir.parent))
    except ValueError:
        return str(path)


def default_bundle_dir(cwd: Path | None = None) -> Path:
    """`deploy/` of the current folder when it holds a bundle (`base.yaml`), as `databricks
    bundle` reads the project it runs in; else the bundle shipped with the package."""
    here = Path(cwd or Path.cwd()) / "deploy"
    return here if (here / "base.yaml").is_file() else DEFAULT_BUNDLE_DIR


def available_targets(bundle_dir: Path = DEFAULT_BUNDLE_DIR) -> list[str]:
    """The target names: the stems of deploy/targets/*.yaml."""
    return sorted(p.stem for p in (bundle_dir / "targets").glob("*.yaml"))


def deploy_user(environ: Mapping[str, str]) -> str:
    """The deploying user as a DNS label fragment (for development-mode name prefixes)."""
    raw = DEPLOY_USER.raw(environ) or environ.get("GITHUB_ACTOR") or getpass.getuser()
    user = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:20].strip("-")
    return user or "user"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` over `base`: mappings recursively, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, bundle_dir: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise DeployError(f"{display_path(path, bundle_dir)} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise DeployError(f"{display_path(path, bundle_dir)} must hold a mapping at the top")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise DeployError(
            f"{display_path(path, bundle_dir)}: unknown top-level key(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )
    return data


def _variable_values(
    base: Mapping[str, Any], target: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each declared variable's value (missing ones absent) and its description."""
    declared = base.get("variables") or {}
    values: dict[str, Any] = {}
    descriptions: dict[str, str] = {}
    for name, spec in declared.items():
        spec = spec or {}
        descriptions[name] = str(spec.get("description", "")).strip()
        if "default" in spec and spec["default"] is not None:
            values[name] = spec["default"]
    for name, value in (target.get("variables") or {}).items():
        if name not in declared:
            raise DeployError(
                f"variable {name!r} is set by the target but not declared under variables: "
                "in deploy/base.yaml"
            )
        if isinstance(value, Mapping):
            value = value.get("default")
        if value is not None:
            values[name] = value
    for name in declared:
        if BUNDLE_VARIABLE.value(environ, name):
            values[name] = BUNDLE_VARIABLE.value(environ, name)
    return values, descriptions


def _interpolate(node: Any, context: Mapping[str, Any], path: str, missing: dict) -> Any:
    if isinstance(node, Mapping):
        return {
            k: _interpolate(v, context, f"{path}.{k}" if path else str(k), missing)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate(v, context, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def lookup(ref: str) -> Any:
        ref = ref.strip()
        if ref in context:
            return context[ref]
        if ref.startswith("var.") and ref[4:] in context["__declared__"]:
            missing.setdefault(ref[4:], []).append(path)
            return ""
        raise DeployError(
            f"{path}: unknown reference ${{{ref}}}; use ${{var.NAME}} for a variable declared in "
            "deploy/base.yaml, or ${bundle.name}, ${bundle.target}, ${bundle.user}"
        )

    whole = _REF.fullmatch(node)
    if whole:
        return lookup(whole.group(1))
    return _REF.sub(lambda m: str(lookup(m.group(1))), node)


def load_bundle(
    target: str,
    bundle_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Bundle:
    """Merge base and target, resolve every reference, and return the target's configuration.

    Raises:
        DeployError: for an unknown target, invalid YAML, an unknown key or reference, or a
            variable without a value.
    """
    bundle_dir = Path(bundle_dir) if bundle_dir else default_bundle_dir()
    environ = os.environ if environ is None else environ
    targets = available_targets(bundle_dir)
    if target not in targets:
        raise DeployError(
            f"unknown target {target!r}: {display_path(bundle_dir / 'targets', bundle_dir)} "
            f"defines {', '.join(targets) or 'no targets'}"
        )
    base = _read_yaml(bundle_dir / "base.yaml", bundle_dir)
    overlay = _read_yaml(bundle_dir / "targets" / f"{target}.yaml", bundle_dir)
    values, descriptions = _variable_values(base, overlay, environ)
    merged = deep_merge(base, {k: v for k, v in overlay.items() if k != "variables"})
    merged.pop("variables", None)
    mode = merged.get("mode", "default")
    if mode not in MODES:
        raise DeployError(f"mode {mode!r} of target {target!r} is not one of {', '.join(MODES)}")

    user = deploy_user(environ)
    context: dict[str, Any] = {f"var.{k}": v for k, v in values.items()}
    context.update(
        {
            "bundle.name": merged.get("bundle", {}).get("name", "mlplatform"),
            "bundle.target": target,
            "bundle.user": user,
            "__declared__": set(descriptions),
        }
    )
    missing: dict[str, list[str]] = {}
    resolved = _interpolate(merged, context, "", missing)
    if missing:
        lines = [
            f"variable {name!r} has no value for target {target!r}"
            + (f" ({descriptions[name]})" if descriptions.get(name) else "")
            + f", used at {', '.join(where)}: set {VAR_ENV_PREFIX}{name} or give it a value "
            f"under variables: in deploy/targets/{target}.yaml"
            for name, where in sorted(missing.items())
        ]
        raise DeployError("; ".join(lines))
    return Bundle(target=target, config=resolved, bundle_dir=bundle_dir, user=user)
