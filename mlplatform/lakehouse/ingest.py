"""Incremental file discovery (the Auto Loader equivalent): which landing files a batch takes.

A file is new when its path is not in the table's ledger. A file already ingested whose size or
modification time changed was rewritten in place: it is skipped with a warning and counted, unless
``allow_overwrites`` is set (``cloudFiles.allowOverwrites``), in which case it is ingested again
as a whole (its earlier rows stay in the table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class FilePlan:
    """The files the next batch ingests, and the ones it passes over (and why)."""

    files: list[dict] = field(default_factory=list)
    changed_skipped: list[str] = field(default_factory=list)
    deferred: int = 0  # new files left for the next batch by max_files_per_trigger


def list_landing(folder: Path, pattern: str) -> list[dict]:
    """Files under ``folder`` matching ``pattern``, oldest name first, with size and mtime."""
    if not folder.exists():
        return []
    out = []
    for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
        st = path.stat()
        out.append({"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def plan_files(
    listing: list[dict],
    committed_log: pl.DataFrame,
    allow_overwrites: bool = False,
    max_files: int | None = None,
) -> FilePlan:
    """Choose the files of the next batch given the committed part of the ledger."""
    seen: dict[str, tuple[int, int]] = {}
    for row in (
        committed_log.filter(pl.col("source").is_not_null()).sort("batch_id").iter_rows(named=True)
    ):
        seen[row["source"]] = (row["size"], row["mtime_ns"])
    plan = FilePlan()
    for entry in listing:
        before = seen.get(entry["source"])
        if before is None:
            plan.files.append(entry)
        elif before != (entry["size"], entry["mtime_ns"]):
            if allow_overwrites:
                plan.files.append(entry)
            else:
                plan.changed_skipped.append(entry["source"])
    if max_files is not None and len(plan.files) > max_files:
        plan.deferred = len(plan.files) - max_files
        plan.files = plan.files[:max_files]
    return plan
