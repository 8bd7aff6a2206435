"""What a code location holds: assets, checks, jobs, schedules and sensors, loaded for real.

`load_inventory` imports the code location in a child process (`python -m
mlplatform.deployment.inventory module:attribute`), so a definitions module that fails to import,
or a native library that aborts at interpreter exit, cannot take the deploy command with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlplatform.deployment.errors import DeployError

_MARKER = "MLPLATFORM_INVENTORY "


@dataclass(frozen=True)
class Inventory:
    """The names a loaded code location exposes, with schedule and sensor default statuses."""

    assets: dict[str, str | None] = field(default_factory=dict)  # "layer/table" -> group
    checks: list[str] = field(default_factory=list)  # "layer/table:check_name"
    jobs: list[str] = field(default_factory=list)
    schedules: dict[str, str] = field(default_factory=dict)  # name -> RUNNING | STOPPED
    sensors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The inventory as one JSON line."""
        return json.dumps(asdict(self), sort_keys=True)


def inventory_of(defs) -> Inventory:
    """Describe a `dagster.Definitions` object (resolving it like a code server does)."""
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {
        key.to_user_string(): graph.get(key).group_name
        for key in sorted(graph.materializable_asset_keys, key=lambda k: k.path)
    }
    checks = sorted(
        f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
    )
    jobs = sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__"))
    schedules = {s.name: s.default_status.value for s in repo.schedule_defs}
    sensors = {s.name: s.default_status.value for s in repo.sensor_defs}
    return Inventory(
        assets, checks, jobs, dict(sorted(schedules.items())), dict(sorted(sensors.items()))
    )


def load_inventory(
    spec: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> Inventory:
    """Load `module:attribute` in a child process and describe it.

    Raises:
        DeployError: when the definitions fail to load, with the end of the child's error output.
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    cmd = [sys.executable, "-m", "mlplatform.deployment.inventory", spec]
    try:
        proc = subprocess.run(
            cmd, env=child_env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as err:
        raise DeployError(
            f"loading the Dagster definitions {spec} took over {timeout:.0f} s"
        ) from err
    for line in proc.stdout.splitlines():
        if line.startswith(_MARKER):
            return Inventory(**json.loads(line[len(_MARKER) :]))
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    raise DeployError(
        f"the Dagster definitions {spec} failed to load (exit {proc.returncode}):\n{tail}"
    )


def _main(spec: str) -> int:
    import importlib

    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    defs = getattr(module, attribute or "defs")
    sys.stdout.write(_MARKER + inventory_of(defs).to_json() + "\n")
    return 0


if __name__ == "__main__":
    try:
        code = _main(sys.argv[1])
    except Exception:  # noqa: BLE001 - report any load failure to the parent, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: native libraries may abort there
