"""The inference logger: every scoring request becomes a row of the payload Delta table.

Requests only append a dict to an in-memory buffer (no I/O on the request path). A writer thread
commits the buffer as one Delta append when it holds `flush_rows` rows or `flush_seconds` have
passed, whichever comes first; `close()` (on SIGTERM) commits everything left. Rows waiting in the
buffer or in a commit that has not finished are what a hard crash (SIGKILL, power loss) loses; the
buffer is capped at `max_buffer_rows` (rows past the cap are dropped and counted, never blocking a
request), so a hard crash loses at most `max_buffer_rows` rows, and normally at most the rows of
the last `flush_seconds` (or `flush_rows`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mlplatform.catalog import PAYLOAD
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.serving.payload_arrow import PAYLOAD_SCHEMA, payload_arrow
from mlplatform.serving.payload_row import PayloadRow

log = logging.getLogger(__name__)


@dataclass
class LoggerStats:
    """What the logger has done so far (shown by `GET /health`)."""

    logged: int = 0
    written: int = 0
    dropped: int = 0
    commits: int = 0
    failed_commits: int = 0
    last_error: str | None = None


class InferenceLogger:
    """Buffers payload rows and commits them to the Delta table in batches."""

    def __init__(
        self,
        path: Path,
        flush_rows: int = 1000,
        flush_seconds: float = 5.0,
        max_buffer_rows: int = 10_000,
    ):
        self.path = path
        self.store = DeltaStore(path, PAYLOAD.app_id)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_buffer_rows = max(max_buffer_rows, flush_rows)
        self.stats = LoggerStats()
        self._buffer: list[PayloadRow] = []
        self._in_commit = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def ensure_table(self) -> None:
        """Create the payload table with its schema if it does not exist yet."""
        self.store.create(PAYLOAD_SCHEMA, "One row per scoring request of the serving endpoint.")

    def start(self) -> None:
        """Create the table if needed and start the writer thread."""
        self.ensure_table()
        # Arrow loads its time zone database on first use (about a second, holding the GIL):
        # pay for it now rather than in the middle of serving
        payload_arrow([PayloadRow("", None, 0, 0, 0.0, None, None, None, None)])
        self._thread = threading.Thread(target=self._run, name="inference-logger", daemon=True)
        self._thread.start()

    def log(self, row: PayloadRow) -> None:
        """Queue one payload row (cheap; never does I/O)."""
        with self._cond:
            self.stats.logged += 1
            if len(self._buffer) + self._in_commit >= self.max_buffer_rows:
                self.stats.dropped += 1
                return
            self._buffer.append(row)
            if len(self._buffer) >= self.flush_rows:
                self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._buffer) + self._in_commit

    def _run(self) -> None:
        deadline = time.monotonic() + self.flush_seconds
        backoff = False  # after a failed commit, wait out the interval even if the buffer is full
        while True:
            with self._cond:
                while not self._closed and (backoff or len(self._buffer) < self.flush_rows):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._closed:
                    return
                rows, self._buffer = self._buffer, []
                self._in_commit = len(rows)
            deadline = time.monotonic() + self.flush_seconds
            backoff = not self._commit(rows)

    def _commit(self, rows: list[PayloadRow]) -> bool:
        """Append `rows` as one commit; on failure put them back for the next flush."""
        try:
            if rows:
                # merge: a table created before `served_features` existed gains the column
                self.store.append(payload_arrow(rows), evolve_schema=True)
        except Exception as err:  # noqa: BLE001 (storage trouble must not stop serving)
            with self._cond:
                self.stats.failed_commits += 1
                self.stats.last_error = f"{type(err).__name__}: {err}"
                self._buffer[:0] = rows
                self._in_commit = 0
            log.warning("inference log commit of %d rows failed: %s", len(rows), err)
            return False
        with self._cond:
            self._in_commit = 0
            if rows:
                self.stats.written += len(rows)
                self.stats.commits += 1
                self.stats.last_error = None
        return True

    def close(self, attempts: int = 3) -> int:
        """Stop the writer and commit every buffered row; return how many rows were left unsaved.

        Args:
            attempts: Commit attempts for the last rows before giving up.
        """
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        for attempt in range(attempts):
            with self._cond:
                rows, self._buffer = self._buffer, []
                self._in_commit = len(rows)
            if not rows or self._commit(rows):
                return 0
            time.sleep(0.2 * (attempt + 1))
        return self.pending
