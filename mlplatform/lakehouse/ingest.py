"""Incremental file discovery (the Auto Loader equivalent): which landing files a batch takes.

A file is new when its path is not in the table's ledger. A file already ingested whose size or
modification time changed was rewritten in place: it is skipped with a warning and counted, unless
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

from mlplatform.lakehouse.json_lines import GZIP_MAGIC

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


def unreadable(path: str) -> str | None:
    """Why the line reader cannot read ``path`` (None when it can)."""
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
    max_bytes: int | None = None,
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
    take = len(plan.files)
    if max_files is not None:
        take = min(take, max_files)
    if max_bytes is not None:
        total = 0
        for i, entry in enumerate(plan.files[:take]):
            total += entry["size"]
            if total > max_bytes and i > 0:  # soft: a batch holds at least one file
                take = i
                break
    plan.deferred = len(plan.files) - take
    plan.files = plan.files[:take]
    return plan
