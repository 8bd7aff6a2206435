"""Named crash and pause points for testing exactly-once recovery (like failpoints in databases).

``MLPLATFORM_FAILPOINT=<name>`` (or ``<name>:<layer>/<table>`` for one table, with ``@<n>`` for
its n-th hit, e.g. ``after_ledger_record:bronze/raw_orders@3``) makes the process kill
itself with SIGKILL when it reaches that point, the way a machine failure or an OOM kill would
stop it: no cleanup, no flush.

With ``MLPLATFORM_FAILPOINT_ACTION=pause`` the process stops there instead: it creates
``<name>.paused`` in ``MLPLATFORM_FAILPOINT_DIR`` and waits until ``<name>.release`` appears, so
a test can run another process in between (a deterministic interleaving of two runs).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from mlplatform.settings.variables import FAILPOINT, FAILPOINT_ACTION, FAILPOINT_DIR

POINTS = (
    "after_ledger_record",  # the batch is recorded, nothing written yet
    "between_files_and_commit",  # a target's data files are written, not yet committed
    "before_commit",  # a Delta commit's snapshot is checked, the commit not yet made
    "between_commits",  # the quarantine committed, the table not yet
    "after_all_commits",  # every target committed, the run not yet reported
)
_HITS: dict[str, int] = {}


def failpoint(name: str, table: str) -> None:
    """Kill (or pause) this process now if ``MLPLATFORM_FAILPOINT`` names this point."""
    wanted = FAILPOINT.raw()
    if not wanted:
        return
    spec, _, nth = wanted.partition("@")
    if spec not in (name, f"{name}:{table}"):
        return
    _HITS[spec] = _HITS.get(spec, 0) + 1
    if nth and _HITS[spec] != int(nth):
        return
    if FAILPOINT_ACTION.value() == "pause":
        folder = Path(FAILPOINT_DIR.value())
        (folder / f"{name}.paused").touch()
        deadline = time.monotonic() + 600
        while not (folder / f"{name}.release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return
    os.kill(os.getpid(), signal.SIGKILL)
