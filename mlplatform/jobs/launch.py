"""Starting a task process with Dagster Pipes and collecting what it reports."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplatform.jobs.secrets import redact

OUTPUT_TAIL = 4000


@dataclass
class ProcessResult:
    """What a task process did: its exit code, whether it ran out of time, its task values,
    its exit value and the tail of its output."""

    exit_code: int
    timed_out: bool
    values: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    log: str = ""

    @property
    def error(self) -> str:
        """The last line of the process's output (the exception, for a failure)."""
        lines = [ln for ln in self.log.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self.exit_code}"


def launch(
    context,
    extras: dict[str, Any],
    timeout_seconds: int,
    env: dict[str, str],
    cwd: Path,
    secrets_root: Path | None = None,
) -> ProcessResult:
    """Run `python -m mlplatform.jobs.runner` for one task through a Pipes session.

    Args:
        context: The op's execution context.
        extras: What the runner runs (see `mlplatform.jobs.runner.run`).
        timeout_seconds: Kill the process after this long (0: no limit).
        env: Variables to add to this process's environment for the task.
        cwd: The task's working folder.
        secrets_root: The secret store whose values are redacted from the task's log.
    """
    import dagster as dg

    with tempfile.TemporaryFile("w+") as out:
        with dg.open_pipes_session(
            context=context,
            context_injector=dg.PipesTempFileContextInjector(),
            message_reader=dg.PipesTempFileMessageReader(),
            extras=extras,
        ) as session:
            full_env = {**os.environ, **env, **session.get_bootstrap_env_vars()}
            process = subprocess.Popen(
                [sys.executable, "-m", "mlplatform.jobs.runner"],
                env=full_env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            timed_out = False
            try:
                code = process.wait(timeout=timeout_seconds or None)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
                timed_out = True
        out.seek(0)
        log = redact(out.read(), secrets_root)
    if log.strip():
        sys.stderr.write(log)
        context.log.info(log[-OUTPUT_TAIL:])
    result = ProcessResult(code, timed_out, log=log[-OUTPUT_TAIL:])
    for message in session.get_custom_messages():
        if "value" in message:
            key, value = message["value"]
            result.values[key] = value
        elif "exit" in message:
            result.output = message["exit"]
    return result
