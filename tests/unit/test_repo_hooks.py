"""The repository's own hook scripts pass on the tree (the whole `pre-commit run --all-files` is
tests/integration/test_pre_commit.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def test_no_secret_is_found_in_the_tree():
    proc = subprocess.run(
        [sys.executable, "scripts/check_no_secrets.py", *_tracked()],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_the_secrets_check_still_flags_a_password_in_a_url(tmp_path):
    leaky = tmp_path / "leaky.md"
    leaky.write_text(  # the check's own fixture: pragma: allowlist secret
        "postgresql://user:hunter22@host:5432/db\n"  # pragma: allowlist secret
        "postgresql://user:${PW}@host/db\n"
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_no_secrets.py"), str(leaky)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{leaky}:1: URL with a password")
    assert f"{leaky}:2:" not in proc.stderr  # a ${VAR} placeholder is no password


def test_no_large_file_is_in_the_tree():
    proc = subprocess.run(
        [sys.executable, "scripts/check_large_files.py", "--max-kb", "500", *_tracked()],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
