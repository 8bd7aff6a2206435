"""Incremental file discovery (the Auto Loader equivalent): which landing files a batch takes.

A file is new when its name (see ``landing.py``: real paths, links, odd names) is not in the
table's ledger. A batch records for each file the bytes it takes (``offset`` to ``size``: complete
lines only), its mtime and a hash of its last recorded bytes. A file already ingested whose size or
modification time changed has grown by appending when its recorded bytes are unchanged: the next
batch takes exactly its new complete lines. Otherwise (shorter, or its recorded bytes differ, or a
gzip file) it was rewritten in place: it is skipped with a warning and counted, unless
``allow_overwrites`` is set (``cloudFiles.allowOverwrites``), in which case it is ingested again
as a whole (its earlier rows stay in the table).

A batch takes at most ``max_files`` new files and, softly, ``max_bytes`` of them (a batch holds at
least one file), as Auto Loader's ``maxFilesPerTrigger`` / ``maxBytesPerTrigger``. Before a batch is
recorded, each of its files is opened: a file that cannot be read (an I/O or permission error, a
compression the reader cannot open, a damaged gzip stream) stops the run naming the file, or with
``ignore_corrupt_files`` is recorded as skipped, so it is never retried silently.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mlplatform.lakehouse.landing import (
    GZIP_MAGIC,
    FilePart,
    complete_end,
    fs_path,
    list_files,
    tail_hash,
)

# compressions the line reader cannot open (it reads plain text and gzip)
_UNSUPPORTED_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"7z\xbc\xaf\x27\x1c": "7z",
    b"\x28\xb5\x2f\xfd": "zstd",
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


class CorruptFileError(RuntimeError):
    """A landing file cannot be read at all."""

    def __init__(self, table: str, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(
            f"{table}: landing file {path} cannot be read ({reason}); nothing was recorded or "
            "written. Fix or remove the file, or set ignore_corrupt_files: true to skip it"
        )


def parse_size(value: int | str | None) -> int | None:
    """Bytes from an int or a Spark-style size (``"512m"``, ``"1g"``, ``"10k"``)."""
    if value is None or isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"max_bytes_per_trigger {value!r} is not a size like 1048576, 512m or 1g")
    number, unit = float(match[1]), match[2].lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


def unreadable(source: str) -> str | None:
    """Why the line reader cannot read the file named ``source`` (None when it can)."""
    path = fs_path(source)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if head[:2] == GZIP_MAGIC:
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as stream:
                    while stream.read(1 << 24):
                        pass
    except FileNotFoundError:
        return "it no longer exists"
    except (OSError, EOFError, zlib.error) as err:
        return f"{type(err).__name__}: {err}"
    for magic, name in _UNSUPPORTED_MAGIC.items():
        if head.startswith(magic):
            return f"{name} compression is not supported (plain or gzip JSON lines)"
    return None


@dataclass
class FilePlan:
    """The files the next batch ingests, and the ones it passes over (and why)."""

    files: list[dict] = field(default_factory=list)
    changed_skipped: list[str] = field(default_factory=list)
    deferred: int = 0  # new files left for the next micro-batch by the trigger limits
    pending: list[str] = field(default_factory=list)  # a last line without its newline yet


def list_landing(folder: Path, pattern: str) -> list[dict]:
    """Files under ``folder`` matching ``pattern``, oldest name first, with size and mtime (the
    links refused or skipped are in ``landing.list_files``)."""
    return list_files(folder, pattern).files


def _compressed(path: str) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(8)
    return head.startswith(GZIP_MAGIC) or any(head.startswith(m) for m in _UNSUPPORTED_MAGIC)


def _grown(path: str, before: dict, entry: dict) -> bool:
    """Whether a recorded file only grew: its recorded bytes are still its first bytes."""
    recorded = before.get("tail_hash")
    if recorded is None or entry["size"] < before["size"]:
        return False
    try:
        return tail_hash(path, before["size"]) == recorded
    except OSError:
        return False


def _take(entry: dict, start: int, plan: FilePlan) -> dict | None:
    """The entry as a batch's part: its complete lines from ``start`` (None: none yet)."""
    path = fs_path(entry["source"])
    size = entry["size"]
    try:
        whole = _compressed(path)  # no lines to split: read whole (or found unreadable)
        end = size if whole else complete_end(path, size, start, entry["mtime_ns"])
        digest = None if whole else tail_hash(path, end)
    except OSError:  # gone or unreadable: the batch's read check names it
        end, digest = size, None
    if end < size:
        plan.pending.append(entry["source"])
    if end <= start:
        return None
    return entry | {"offset": start, "size": end, "tail_hash": digest}


def plan_files(
    listing: list[dict],
    committed_log: pl.DataFrame,
    allow_overwrites: bool = False,
    max_files: int | None = None,
    max_bytes: int | None = None,
) -> FilePlan:
    """Choose the files of the next batch given the committed part of the ledger."""
    seen: dict[str, dict] = {}
    for row in (
        committed_log.filter(pl.col("source").is_not_null()).sort("batch_id").iter_rows(named=True)
    ):
        seen[row["source"]] = row
    plan = FilePlan()
    candidates: list[tuple[dict, int]] = []  # (file, byte to read from), in listing order
    for entry in listing:
        before = seen.get(entry["source"])
        if before is None:
            candidates.append((entry, 0))
        elif (before["size"], before["mtime_ns"]) == (entry["size"], entry["mtime_ns"]):
            continue
        elif _grown(fs_path(entry["source"]), before, entry):
            candidates.append((entry, before["size"]))
        elif allow_overwrites:
            candidates.append((entry, 0))
        else:
            plan.changed_skipped.append(entry["source"])
    # only the files this batch takes are read for their complete lines and tail hash: a
    # backlog of many files is not read again by the plan of every micro-batch
    total = 0
    for i, (entry, start) in enumerate(candidates):
        full = max_files is not None and len(plan.files) >= max_files
        # soft: a batch holds at least one file
        over = max_bytes is not None and plan.files and total + entry["size"] - start > max_bytes
        if full or over:
            plan.deferred = len(candidates) - i
            break
        part = _take(entry, start, plan)
        if part is not None:
            plan.files.append(part)
            total += part["size"] - part["offset"]
    return plan


def batch_parts(rows: list[dict]) -> list[FilePart]:
    """The file parts a recorded batch reads (its rows of ingested files)."""
    return [
        # a batch recorded before offsets were kept read its files whole
        FilePart(
            r["source"], r.get("offset") or 0, r["size"] if r.get("offset") is not None else None
        )
        for r in rows
        if r["size"] is not None and r["status"] is None
    ]
