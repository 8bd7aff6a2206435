"""The Jobs API identity of a Dagster run, kept as its tags: job id, run id, repair count, the
task run ids, job parameters, trigger and, for a repair, the run repaired and the tasks rerun."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

PREFIX = "mlplatform/jobs."


@dataclass(frozen=True)
class RunTags:
    """A job run's identity as Dagster run tags."""

    job_id: int | None = None
    run_id: int | None = None
    repair_count: int = 0
    task_run_ids: Mapping[str, int] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    trigger: str = "ONE_TIME"
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    repair_of: str = ""
    """The Dagster run this repair reruns tasks of ("" for a first run)."""
    rerun: tuple[str, ...] = ()

    def tags(self) -> dict[str, str]:
        """The Dagster run tags."""
        out = {
            "repair_count": str(self.repair_count),
            "task_run_ids": json.dumps(dict(self.task_run_ids)),
            "parameters": json.dumps(dict(self.parameters)),
            "trigger": self.trigger,
            "start_time": self.start_time.isoformat(),
        }
        if self.job_id is not None:
            out["job_id"] = str(self.job_id)
        if self.run_id is not None:
            out["run_id"] = str(self.run_id)
        if self.repair_of:
            out |= {"repair_of": self.repair_of, "rerun": ",".join(self.rerun)}
        return {PREFIX + k: v for k, v in out.items()}

    @classmethod
    def read(cls, tags: Mapping[str, str]) -> RunTags:
        """The identity from a Dagster run's tags (defaults for a run started elsewhere)."""
        got = {k.removeprefix(PREFIX): v for k, v in tags.items() if k.startswith(PREFIX)}
        rerun = got.get("rerun", "")
        start = got.get("start_time")
        return cls(
            job_id=int(got["job_id"]) if "job_id" in got else None,
            run_id=int(got["run_id"]) if "run_id" in got else None,
            repair_count=int(got.get("repair_count", "0")),
            task_run_ids=json.loads(got.get("task_run_ids", "{}")),
            parameters=json.loads(got.get("parameters", "{}")),
            trigger=got.get("trigger", "ONE_TIME"),
            start_time=datetime.fromisoformat(start) if start else datetime.now(UTC),
            repair_of=got.get("repair_of", ""),
            rerun=tuple(k for k in rerun.split(",") if k),
        )

    def reuses(self, task_key: str) -> bool:
        """Whether a repair keeps `task_key`'s earlier result instead of rerunning it."""
        return bool(self.repair_of) and task_key not in self.rerun
