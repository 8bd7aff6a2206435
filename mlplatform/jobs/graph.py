"""A job as a Dagster job: one op per task, each deciding from its dependencies' records
whether it runs (`run_if`, condition outcomes), and a last op that fails the Dagster run
when the job run's result (from its leaf tasks) is FAILED."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dagster as dg

from mlplatform.jobs import states
from mlplatform.jobs.model import JobSettings, Task
from mlplatform.jobs.run_tags import RunTags
from mlplatform.jobs.tasks import RunJob, execute, now_ms, record, run_context
from mlplatform.jobs.validate import op_name, topological
from mlplatform.jobs.values import RECORD, records_of_run

RESULT_OP = "_jobs_run_result"
KINDS = {
    "notebook_task": "notebook",
    "spark_python_task": "python",
    "python_wheel_task": "python",
    "condition_task": "condition",
    "for_each_task": "for_each",
    "run_job_task": "job",
}


def dagster_job_name(job: JobSettings) -> str:
    """The Dagster job name of a job (its name with every other character as `_`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", job.name) or "job"


def build_job(
    job: JobSettings, project_root: Path, name: str | None = None, run_job: RunJob | None = None
) -> dg.JobDefinition:
    """The Dagster job running `job`'s tasks from `project_root` (notebook paths' base).

    Args:
        job: The job's settings.
        project_root: The folder relative notebook and file paths start from.
        name: The Dagster job's name (default: the job's name made an identifier).
        run_job: How its `run_job_task`s run other jobs.
    """
    ops = [_task_op(job, task, Path(project_root), run_job) for task in topological(job)]
    upstream_of = {d.task_key for t in job.tasks for d in t.depends_on}
    leaves = [t.task_key for t in job.tasks if t.task_key not in upstream_of]
    deps: dict[str, dict[str, dg.DependencyDefinition]] = {
        op_name(t.task_key): {
            _input(d.task_key): dg.DependencyDefinition(op_name(d.task_key)) for d in t.depends_on
        }
        for t in job.tasks
    }
    deps[RESULT_OP] = {_input(k): dg.DependencyDefinition(op_name(k)) for k in leaves}
    graph = dg.GraphDefinition(
        name=name or dagster_job_name(job),
        node_defs=[*ops, _result_op(job, leaves)],
        dependencies=deps,
        description=f"Lakeflow job {job.name!r} ({len(job.tasks)} tasks)",
    )
    return graph.to_job(executor_def=dg.in_process_executor, tags=dict(job.tags))


def _input(task_key: str) -> str:
    return f"after_{op_name(task_key)}"


def _task_op(job: JobSettings, task: Task, root: Path, run_job: RunJob | None) -> dg.OpDefinition:
    ins = {_input(d.task_key): dg.In(dg.Any) for d in task.depends_on}
    kind = KINDS.get(task.kind, task.kind)

    @dg.op(
        name=op_name(task.task_key),
        ins=ins,
        out=dg.Out(dg.Any),
        tags={f"dagster/kind/{kind}": ""},
        description=f"{task.kind} {task.task_key}",
    )
    def run_task(context, **upstream: Any):
        records: dict[str, dict] = {}
        for earlier in upstream.values():
            records.update(earlier)
        own = run_one(context, job, task, records, root, run_job)
        state = own["result_state"]
        log = context.log.info if state in states.DONE_OK else context.log.error
        log(f"{task.task_key}: {state} {own.get('state_message', '')}".strip())
        metadata: dict[str, Any] = {
            RECORD: dg.MetadataValue.json(own),
            "result_state": state,
            "task_values": dg.MetadataValue.json(own.get("values", {})),
        }
        if own.get("output") is not None:
            metadata["notebook_output"] = dg.MetadataValue.text(own["output"])
        if own.get("outcome") is not None:
            metadata["outcome"] = own["outcome"]
        yield dg.Output({**records, task.task_key: own}, metadata=metadata)

    return run_task


def run_one(
    context, job: JobSettings, task: Task, records: dict, root: Path, run_job: RunJob | None
) -> dict:
    """The record of `task` in this run: kept from the repaired run, not run, or run."""
    tags = RunTags.read(context.run.tags)
    run_id = tags.task_run_ids.get(task.task_key)
    if tags.reuses(task.task_key):
        earlier = records_of_run(context.instance, tags.repair_of)
        if task.task_key in earlier:
            return earlier[task.task_key]
    upstream = {d.task_key: records[d.task_key] for d in task.depends_on}
    blocked = states.decide(task, upstream)
    if blocked is not None:
        now = now_ms()
        return record(
            task.task_key,
            blocked,
            f"run_if {task.run_if}: not run",
            run_id=run_id,
            start_time=now,
            end_time=now,
        )
    ctx = run_context(job, tags, records)
    return execute(context, job, task, ctx, root, run_job) | {"run_id": run_id}


def _result_op(job: JobSettings, leaves: list[str]) -> dg.OpDefinition:
    @dg.op(name=RESULT_OP, ins={_input(k): dg.In(dg.Any) for k in leaves}, out=dg.Out(dg.Any))
    def run_result(context, **upstream: Any):
        records: dict[str, dict] = {}
        for earlier in upstream.values():
            records.update(earlier)
        result = states.run_result(job, {k: r["result_state"] for k, r in records.items()})
        context.add_output_metadata({"result_state": result})
        if result in (states.FAILED, states.CANCELED):
            failed = sorted(
                k for k, r in records.items() if r["result_state"] not in states.DONE_OK
            )
            raise dg.Failure(f"job run {result}: tasks {', '.join(failed)}")
        return result

    return run_result
