"""The Jobs API 2.2 face over the registry and the Dagster instance: create, get, list, reset,
delete, run-now (runs and waits), get-run, get-run-output, list-runs and repair-run, returning the
API's objects as dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlplatform.jobs import states
from mlplatform.jobs.errors import JobSpecError
from mlplatform.jobs.model import JobSettings
from mlplatform.jobs.reading import load_job
from mlplatform.jobs.run_tags import RunTags
from mlplatform.jobs.runs import NotFound, Registry, RunRow
from mlplatform.jobs.values import records_of_run

MULTI_TASK_OUTPUT = (
    "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the "
    "output of each individual task run instead."
)
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


class JobsApi:
    """Jobs and runs of one home, run on one Dagster instance."""

    def __init__(self, registry: Registry, instance):
        self.registry = registry
        self.instance = instance

    @classmethod
    def local(cls) -> JobsApi:
        """The API over `$MLPLATFORM_HOME` (its registry and Dagster instance)."""
        import dagster as dg

        from mlplatform.instance import ensure_dagster_home
        from mlplatform.settings import get_settings

        settings = get_settings()
        home = ensure_dagster_home(settings)
        return cls(Registry(settings.home / "jobs"), dg.DagsterInstance.from_config(str(home)))

    # --- jobs -----------------------------------------------------------------------------

    def create(self, job: JobSettings, root: Path) -> dict[str, int]:
        return {"job_id": self.registry.create_job(job.raw, Path(root).resolve())}

    def reset(self, job_id: int, job: JobSettings) -> None:
        self.registry.reset_job(job_id, job.raw)

    def get(self, job_id: int) -> dict[str, Any]:
        row = self.registry.job(job_id)
        return {"job_id": row.job_id, "created_time": row.created_time, "settings": row.settings}

    def list(self) -> dict[str, Any]:
        return {"jobs": [self.get(row.job_id) for row in self.registry.jobs()]}

    def delete(self, job_id: int) -> None:
        self.registry.delete_job(job_id)

    def _settings(self, job_id: int) -> tuple[JobSettings, Path]:
        row = self.registry.job(job_id)
        return load_job(row.settings, f"job {job_id}"), Path(row.root)

    # --- runs -----------------------------------------------------------------------------

    def run_now(self, job_id: int, job_parameters: dict[str, Any] | None = None) -> int:
        """Run job `job_id` to its end; the run id."""
        job, root = self._settings(job_id)
        params = {k: str(v) for k, v in (job_parameters or {}).items()}
        unknown = sorted(set(params) - {p.name for p in job.parameters})
        if unknown:
            raise JobSpecError(
                f"job_parameters: job {job_id} has no parameter {', '.join(map(repr, unknown))}"
            )
        run_id, task_ids = self.registry.new_run(job_id, [t.task_key for t in job.tasks])
        tags = RunTags(job_id=job_id, run_id=run_id, task_run_ids=task_ids, parameters=params)
        dagster_run_id = _new_run_id()
        self.registry.set_dagster_run([run_id, *task_ids.values()], dagster_run_id)
        self._execute(job, root, tags, dagster_run_id)
        return run_id

    def repair_run(
        self,
        run_id: int,
        rerun_tasks: list[str] = (),
        rerun_all_failed_tasks: bool = False,
        rerun_dependent_tasks: bool = False,
    ) -> dict[str, int]:
        """Rerun tasks of run `run_id` in a new Dagster run; the others keep their results."""
        run = self._job_run(run_id)
        job, root = self._settings(run.job_id)
        latest = self._dagster_runs(run)[-1]
        records = records_of_run(self.instance, latest)
        earlier = RunTags.read(self.instance.get_run_by_id(latest).tags)
        keys = [t.task_key for t in job.tasks]
        unknown = [k for k in rerun_tasks if k not in keys]
        if unknown:
            raise JobSpecError(f"rerun_tasks: run {run_id} has no task {', '.join(unknown)}")
        if not rerun_tasks and not rerun_all_failed_tasks:
            raise JobSpecError("repair-run: name rerun_tasks or set rerun_all_failed_tasks")
        chosen = set(rerun_tasks)
        if rerun_all_failed_tasks:
            chosen |= {k for k, r in records.items() if r["result_state"] in states.REPAIRABLE}
        if rerun_dependent_tasks:
            chosen |= _dependents(job, chosen)
        ordered = [k for k in keys if k in chosen]
        new_ids = self.registry.new_task_runs(run, ordered)
        tags = RunTags(
            job_id=run.job_id,
            run_id=run_id,
            repair_count=earlier.repair_count + 1,
            task_run_ids=dict(earlier.task_run_ids) | new_ids,
            parameters=earlier.parameters,
            trigger=earlier.trigger,
            start_time=earlier.start_time,
            repair_of=latest,
            rerun=tuple(ordered),
        )
        dagster_run_id = _new_run_id()
        self.registry.set_dagster_run(list(new_ids.values()), dagster_run_id)
        repair_id = self.registry.add_repair(run_id, dagster_run_id)
        self._execute(job, root, tags, dagster_run_id)
        return {"repair_id": repair_id}

    def _execute(self, job: JobSettings, root: Path, tags: RunTags, dagster_run_id: str) -> None:
        from mlplatform.jobs.graph import build_job

        build_job(job, root, run_job=self._run_job).execute_in_process(
            instance=self.instance, tags=tags.tags(), run_id=dagster_run_id, raise_on_error=False
        )

    def _run_job(self, job_id: int, parameters: dict[str, str]) -> tuple[int, str]:
        """A `run_job_task`'s run of another job: its run id and result state."""
        run_id = self.run_now(job_id, parameters)
        return run_id, self.get_run(run_id)["state"].get("result_state", "FAILED")

    def _job_run(self, run_id: int) -> RunRow:
        run = self.registry.run(run_id)
        if run.parent_run_id is not None:
            raise NotFound(f"Run {run_id} is a task run; give the job run {run.parent_run_id}")
        return run

    def _dagster_runs(self, run: RunRow) -> list[str]:
        return [run.dagster_run_id, *(r[1] for r in self.registry.repairs(run.run_id))]

    def get_run(self, run_id: int) -> dict[str, Any]:
        """The Jobs API `Run` object of a job run (its latest repair's task states)."""
        run = self.registry.run(run_id)
        if run.parent_run_id is not None:
            parent = self.get_run(run.parent_run_id)
            task = next(t for t in parent["tasks"] if t["task_key"] == run.task_key)
            return task | {"job_id": run.job_id, "parent_run_id": run.parent_run_id}
        job, _ = self._settings(run.job_id)
        latest = self._dagster_runs(run)[-1]
        dagster_run = self.instance.get_run_by_id(latest)
        tags = RunTags.read(dagster_run.tags)
        records = records_of_run(self.instance, latest)
        done = dagster_run.status.value in FINISHED
        tasks = [_task_object(t, records.get(t.task_key), tags) for t in job.tasks]
        result = states.run_result(job, {k: r["result_state"] for k, r in records.items()})
        state = {"life_cycle_state": "TERMINATED" if done else "RUNNING", "state_message": ""}
        if done:
            state["result_state"] = result
        ends = [r.get("end_time", 0) for r in records.values()]
        params = {p.name: p.default for p in job.parameters}
        return {
            "job_id": run.job_id,
            "run_id": run.run_id,
            "number_in_job": run.run_id,
            "original_attempt_run_id": run.run_id,
            "run_name": job.name,
            "run_type": "JOB_RUN",
            "trigger": tags.trigger,
            "start_time": run.start_time,
            "end_time": max(ends) if done and ends else 0,
            "state": state,
            "job_parameters": [
                {"name": k, "default": v, "value": tags.parameters.get(k, v)}
                for k, v in params.items()
            ],
            "tasks": tasks,
            "repair_history": [{"type": "ORIGINAL", "id": run.run_id, "start_time": run.start_time}]
            + [
                {"type": "REPAIR", "id": rid, "start_time": start}
                for rid, _, start in self.registry.repairs(run.run_id)
            ],
            "dagster_run_id": latest,
        }

    def get_run_output(self, task_run_id: int) -> dict[str, Any]:
        """A task run's output: `notebook_output.result` is its `dbutils.notebook.exit` value."""
        run = self.registry.run(task_run_id)
        if run.parent_run_id is None:
            job, _ = self._settings(run.job_id)
            if len(job.tasks) > 1:
                raise JobSpecError(MULTI_TASK_OUTPUT)
            run = self.registry.run(self.get_run(task_run_id)["tasks"][0]["run_id"])
        metadata = self.get_run(run.run_id)
        record = records_of_run(self.instance, run.dagster_run_id).get(run.task_key)
        out: dict[str, Any] = {"metadata": metadata}
        if record is None:
            return out
        if record["result_state"] in (states.FAILED, states.TIMEDOUT):
            out["error"] = record["state_message"]
        if record.get("output") is not None:
            out["notebook_output"] = {"result": record["output"], "truncated": False}
        if record.get("run_job_output") is not None:
            out["run_job_output"] = record["run_job_output"]
        if record.get("iterations") is not None:
            out["iterations"] = [
                {"input": it["input"], "result_state": it["result_state"], "result": it["output"]}
                for it in record["iterations"]
            ]
        return out

    def list_runs(self, job_id: int | None = None) -> dict[str, Any]:
        return {"runs": [self.get_run(r.run_id) for r in self.registry.runs(job_id)]}


def _task_object(task, record: dict | None, tags: RunTags) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "task_key": task.task_key,
        "run_id": tags.task_run_ids.get(task.task_key),
        "run_if": task.run_if,
        task.kind: dict(task.spec),
    }
    if task.depends_on:
        obj["depends_on"] = [
            {"task_key": d.task_key} | ({"outcome": d.outcome} if d.outcome else {})
            for d in task.depends_on
        ]
    if record is None:
        obj["state"] = {"life_cycle_state": "PENDING", "state_message": ""}
        return obj
    obj["state"] = {
        "life_cycle_state": "TERMINATED",
        "result_state": record["result_state"],
        "state_message": record.get("state_message", ""),
    }
    obj |= {
        "start_time": record.get("start_time", 0),
        "end_time": record.get("end_time", 0),
        "attempt_number": record.get("attempt_number", 0),
    }
    if record.get("outcome") is not None:
        obj[task.kind]["outcome"] = record["outcome"]
    if record.get("iterations") is not None:
        its = record["iterations"]
        ok = sum(1 for it in its if it["result_state"] == states.SUCCESS)
        obj[task.kind]["stats"] = {
            "task_run_stats": {
                "total_iterations": len(its),
                "succeeded_iterations": ok,
                "failed_iterations": len(its) - ok,
            }
        }
    return obj


def _dependents(job: JobSettings, keys: set[str]) -> set[str]:
    found = set(keys)
    changed = True
    while changed:
        changed = False
        for task in job.tasks:
            if task.task_key not in found and any(d.task_key in found for d in task.depends_on):
                found.add(task.task_key)
                changed = True
    return found - keys


def _new_run_id() -> str:
    import uuid

    return str(uuid.uuid4())
