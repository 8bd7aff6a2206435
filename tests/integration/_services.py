"""Helpers for integration tests that start real services: processes, ports, PostgreSQL, Chromium.

Every process starts in its own session so `stop` can end its whole process group. A service the
machine lacks skips the test on a laptop and fails it in CI (CI=true), where .ci/run provides it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(ok: bool, reason: str) -> None:
    """Skip without the service on a laptop; fail in CI, which must provide it."""
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI must provide it: .ci/run installs and starts it)")
        pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], env: Mapping[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """Start `cmd` in a new session, output to `log`."""
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            cmd,
            env=dict(env),
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        handle.close()


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """End `proc` and everything it started (its process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
    else:  # the leader exited; its children may live on in the group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Wait until `url` answers 200; fail early if `proc` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def chromium() -> str | None:
    """The headless-capable browser on PATH (Debian's chromium; Chrome on GitHub runners)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


class PgAdmin:
    """Runs administrative SQL as a PostgreSQL superuser.

    Through `MLPLATFORM_TEST_PG_ADMIN_URL` (a service container on GitHub), else as the local
    `postgres` OS user over the Unix socket (root on this machine and in .ci/run).
    """

    def __init__(self) -> None:
        self.url = os.environ.get("MLPLATFORM_TEST_PG_ADMIN_URL")
        parsed = urlparse(self.url or "postgresql://127.0.0.1:5432")
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 5432

    def available(self) -> tuple[bool, str]:
        """Whether admin SQL can run here, and why not."""
        if not self.url:
            if os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("psql"):
                return (
                    False,
                    "no PostgreSQL admin access (set MLPLATFORM_TEST_PG_ADMIN_URL or run as root)",
                )
        try:
            self.execute("SELECT 1")
        except Exception as err:  # noqa: BLE001 - any failure means the server is not usable
            return False, f"PostgreSQL is not reachable: {err}"
        return True, ""

    def execute(self, *statements: str) -> None:
        """Run each statement in autocommit mode (CREATE/DROP DATABASE need it)."""
        if self.url:
            import psycopg2

            conn = psycopg2.connect(self.url)
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    for sql in statements:
                        cur.execute(sql)
            finally:
                conn.close()
            return
        cmd = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        for sql in statements:
            cmd += ["-c", sql]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip() or f"psql exited {proc.returncode}")
