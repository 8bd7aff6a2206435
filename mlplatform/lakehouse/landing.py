"""The landing folder as ingestion sees it: which files are in it, the name each has in the ledger
and in ``_source_file``, and how much of a growing file is complete.

- A file is identified by its real path (symlinks resolved). Links, to files or folders, are
  followed only while their target lies inside the landing folder (the source root, itself
  resolved): a link whose target is outside it, directly, through ``..`` or through a linked
  folder, is never read; it is refused and named (``refused_files``). A link to a file or folder
  already listed is skipped and counted (``duplicate_links_skipped``): each file is read once.
- A name that is valid UTF-8 is kept as it is. A name that is not keeps its bytes losslessly in
  text: each byte that is not UTF-8 becomes ``%XX`` and each ``%`` becomes ``%25``
  (``urllib.parse.unquote_to_bytes`` gives the name's bytes back). When that text is the name of
  another file (``caf%E9.json`` beside ``caf\xe9.json``), the file whose name is UTF-8 keeps it and
  the other is skipped with a warning naming its bytes (``name_clashes``).
- A plain file grows by appending: a file whose size or modification time changed since its last
  batch, whose recorded bytes are unchanged (the hash of their last 64 KiB), is read from the
  recorded end. A batch takes complete lines only: a last line without its newline is left for a
  later batch unless it is already a whole JSON object, or the file has not changed for
  ``QUIET_S`` (a writer that stopped: the line is taken as it is, rescued when it is no JSON).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from urllib.parse import unquote_to_bytes

GZIP_MAGIC = b"\x1f\x8b"
TAIL_BYTES = 64 * 1024  # the recorded bytes a grown file must still end with
QUIET_S = 600.0  # a file unchanged this long is complete, with or without a last newline


@dataclass
class Listing:
    """The files of a landing folder, and the entries passed over (by name)."""

    files: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # links leading outside the root
    duplicates: list[str] = field(default_factory=list)  # links to a file already listed
    clashes: list[str] = field(default_factory=list)  # non-UTF-8 names taken (bytes' repr)


@dataclass(frozen=True)
class FilePart:
    """The bytes ``[start, end)`` of a landing file (``end`` None: the whole file), named by its
    ledger text ``source``."""

    source: str
    start: int = 0
    end: int | None = None

    @property
    def path(self) -> str:
        return fs_path(self.source)


def source_text(path: str) -> str:
    """The ledger text of a file system path (``os.fsdecode`` form): itself when it is valid
    UTF-8, else its undecodable bytes percent-encoded (and ``%`` as ``%25``)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    out = []
    for ch in os.fsencode(path).decode("utf-8", errors="surrogateescape"):
        if "\udc80" <= ch <= "\udcff":
            out.append(f"%{ord(ch) - 0xDC00:02X}")
        else:
            out.append("%25" if ch == "%" else ch)
    return "".join(out)


def fs_path(source: str) -> str:
    """The file system path of a ledger text (the inverse of ``source_text``)."""
    if "%" not in source or os.path.lexists(source):
        return source
    raw = unquote_to_bytes(source)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return os.fsdecode(raw)
    return source


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def list_files(folder: Path, pattern: str) -> Listing:
    """Files under ``folder`` whose path relative to it matches ``pattern`` (from the right, as
    ``rglob``), by name, each once, with size and mtime; the links refused or skipped."""
    out = Listing()
    if not folder.exists():
        return out
    root = os.path.realpath(folder)
    seen_dirs = {root}
    found: list[tuple[str, str]] = []  # (path as listed, real path)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        keep = []
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            real = os.path.realpath(path)
            if not _inside(real, root):
                out.refused.append(source_text(path))
            elif real in seen_dirs:
                out.duplicates.append(source_text(path))
            else:
                seen_dirs.add(real)
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            path = os.path.join(dirpath, name)
            if PurePath(os.path.relpath(path, root)).match(pattern):
                found.append((path, os.path.realpath(path)))
    seen_files: set[str] = set()
    for path, real in sorted(found):
        if not _inside(real, root):
            out.refused.append(source_text(path))
            continue
        if not os.path.isfile(real):  # a broken link, a socket, a fifo
            continue
        if real in seen_files:
            out.duplicates.append(source_text(path))
            continue
        seen_files.add(real)
        text = source_text(real)
        if text != real and os.path.lexists(text):  # the escaped name is another file's
            out.clashes.append(repr(os.fsencode(path)))
            continue
        st = os.stat(real)
        out.files.append({"source": text, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def tail_hash(path: str, end: int) -> str:
    """A hash of the last ``TAIL_BYTES`` before ``end`` (and of ``end``)."""
    start = max(0, end - TAIL_BYTES)
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    return hashlib.blake2b(data + end.to_bytes(8, "big"), digest_size=16).hexdigest()


def complete_end(path: str, size: int, start: int = 0, mtime_ns: int | None = None) -> int:
    """The end of the last complete line in ``[start, size)``: after its newline, or ``size``
    when the bytes after the last newline are a whole JSON object (a last line written without a
    newline) or the file has been quiet for ``QUIET_S``; ``start`` when there is none."""
    if mtime_ns is not None and time.time() - mtime_ns / 1e9 > QUIET_S:
        return size
    chunks: list[bytes] = []  # the bytes after the last newline, last chunk first
    with open(path, "rb") as handle:
        pos, newline_end = size, start
        while pos > start:
            step = min(TAIL_BYTES, pos - start)
            pos -= step
            handle.seek(pos)
            chunk = handle.read(step)
            at = chunk.rfind(b"\n")
            if at >= 0:
                chunks.append(chunk[at + 1 :])
                newline_end = pos + at + 1
                break
            chunks.append(chunk)
    tail = b"".join(reversed(chunks))
    return size if tail and _whole_object(tail) else newline_end


def _whole_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:
        return False


def read_part(part: FilePart) -> bytes:
    """The bytes of a part; a gzip file whole, decompressed (it has no byte offsets)."""
    with open(part.path, "rb") as handle:
        handle.seek(part.start)
        data = handle.read() if part.end is None else handle.read(part.end - part.start)
    return gzip.decompress(data) if data[:2] == GZIP_MAGIC and part.start == 0 else data
