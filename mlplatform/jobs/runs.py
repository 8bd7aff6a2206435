"""The registry of created jobs and their runs: integer job ids, run ids and task run ids in
a sqlite file under `$MLPLATFORM_HOME/jobs` (several processes may create and run jobs at once:
each change is one immediate transaction)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT, settings TEXT NOT NULL, root TEXT NOT NULL,
    created_time INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,
    parent_run_id INTEGER, task_key TEXT, dagster_run_id TEXT, start_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repairs (
    repair_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
    dagster_run_id TEXT NOT NULL, start_time INTEGER NOT NULL);
"""


class NotFound(LookupError):
    """A job id or run id the registry does not know."""


@dataclass(frozen=True)
class JobRow:
    job_id: int
    settings: dict[str, Any]
    created_time: int
    root: str
    """The folder relative notebook and file paths start from."""


@dataclass(frozen=True)
class RunRow:
    run_id: int
    job_id: int
    parent_run_id: int | None
    task_key: str | None
    dagster_run_id: str | None
    start_time: int


class Registry:
    """Jobs and runs of one `$MLPLATFORM_HOME`."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "registry.sqlite"
        db = sqlite3.connect(self.path, timeout=60)
        try:
            db.executescript(SCHEMA)  # commits by itself; IF NOT EXISTS makes it safe to repeat
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def create_job(self, settings: dict[str, Any], root: Path) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO jobs (settings, root, created_time) VALUES (?, ?, ?)",
                (json.dumps(settings), str(root), _now()),
            )
            return int(cur.lastrowid)

    def reset_job(self, job_id: int, settings: dict[str, Any]) -> None:
        self.job(job_id)
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET settings = ? WHERE job_id = ?", (json.dumps(settings), job_id)
            )

    def job(self, job_id: int) -> JobRow:
        rows = self._read(
            "SELECT job_id, settings, created_time, root FROM jobs "
            "WHERE job_id = ? AND deleted = 0",
            (job_id,),
        )
        if not rows:
            raise NotFound(f"Job {job_id} does not exist.")
        return JobRow(rows[0][0], json.loads(rows[0][1]), rows[0][2], rows[0][3])

    def jobs(self) -> list[JobRow]:
        rows = self._read(
            "SELECT job_id, settings, created_time, root FROM jobs "
            "WHERE deleted = 0 ORDER BY job_id"
        )
        return [JobRow(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    def delete_job(self, job_id: int) -> None:
        self.job(job_id)
        with self._write() as db:
            db.execute("UPDATE jobs SET deleted = 1 WHERE job_id = ?", (job_id,))

    def new_run(self, job_id: int, task_keys: list[str]) -> tuple[int, dict[str, int]]:
        """A new job run id and a run id for each task."""
        with self._write() as db:
            now = _now()
            run_id = int(
                db.execute(
                    "INSERT INTO runs (job_id, start_time) VALUES (?, ?)", (job_id, now)
                ).lastrowid
            )
            return run_id, self._task_runs(db, job_id, run_id, task_keys, now)

    def new_task_runs(self, run: RunRow, task_keys: list[str]) -> dict[str, int]:
        """New run ids for the tasks a repair reruns."""
        with self._write() as db:
            return self._task_runs(db, run.job_id, run.run_id, task_keys, _now())

    @staticmethod
    def _task_runs(db, job_id: int, run_id: int, keys: list[str], now: int) -> dict[str, int]:
        return {
            key: int(
                db.execute(
                    "INSERT INTO runs (job_id, parent_run_id, task_key, start_time) "
                    "VALUES (?, ?, ?, ?)",
                    (job_id, run_id, key, now),
                ).lastrowid
            )
            for key in keys
        }

    def set_dagster_run(self, run_ids: list[int], dagster_run_id: str) -> None:
        with self._write() as db:
            db.executemany(
                "UPDATE runs SET dagster_run_id = ? WHERE run_id = ?",
                [(dagster_run_id, r) for r in run_ids],
            )

    def add_repair(self, run_id: int, dagster_run_id: str) -> int:
        with self._write() as db:
            return int(
                db.execute(
                    "INSERT INTO repairs (run_id, dagster_run_id, start_time) VALUES (?, ?, ?)",
                    (run_id, dagster_run_id, _now()),
                ).lastrowid
            )

    def repairs(self, run_id: int) -> list[tuple[int, str, int]]:
        """(repair id, Dagster run id, start time) of each repair of `run_id`, oldest first."""
        return [
            tuple(r)
            for r in self._read(
                "SELECT repair_id, dagster_run_id, start_time FROM repairs WHERE run_id = ? "
                "ORDER BY repair_id",
                (run_id,),
            )
        ]

    def run(self, run_id: int) -> RunRow:
        rows = self._read(
            "SELECT run_id, job_id, parent_run_id, task_key, dagster_run_id, start_time "
            "FROM runs WHERE run_id = ?",
            (run_id,),
        )
        if not rows:
            raise NotFound(f"Run {run_id} does not exist.")
        return RunRow(*rows[0])

    def runs(self, job_id: int | None = None) -> list[RunRow]:
        """Job runs (not task runs), newest first."""
        sql = (
            "SELECT run_id, job_id, parent_run_id, task_key, dagster_run_id, start_time FROM runs "
            "WHERE parent_run_id IS NULL"
        )
        args: tuple = ()
        if job_id is not None:
            sql += " AND job_id = ?"
            args = (job_id,)
        return [RunRow(*r) for r in self._read(sql + " ORDER BY run_id DESC", args)]


def _now() -> int:
    return int(time.time() * 1000)
