"""Named crash points for testing exactly-once recovery (like failpoints in databases).

Setting ``MLPLATFORM_FAILPOINT=<name>`` (or ``<name>:<layer>/<table>`` for one table) makes the
process kill itself with SIGKILL when it reaches that point, the way a machine failure or an OOM
kill would stop it: no cleanup, no flush.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_ledger_record",  # the batch is recorded, nothing written yet
    "between_files_and_commit",  # a target's data files are written, not yet committed
    "between_commits",  # the quarantine committed, the table not yet
    "after_all_commits",  # every target committed, the run not yet reported
)


def failpoint(name: str, table: str) -> None:
    """Kill this process now if ``MLPLATFORM_FAILPOINT`` names this point (and table)."""
    wanted = os.environ.get("MLPLATFORM_FAILPOINT")
    if wanted in (name, f"{name}:{table}"):
        os.kill(os.getpid(), signal.SIGKILL)
