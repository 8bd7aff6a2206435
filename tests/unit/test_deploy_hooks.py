"""The local pre-commit hooks in scripts/: no secrets, no large files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Built from pieces so this file itself passes the hook.
SECRETS = {
    "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "AWS access key id": "key = AKIA" + "ABCDEFGHIJKLMNOP",
    "GitHub token": "token: ghp_" + "a" * 36,
    "Slack token": "xoxb-" + "1234567890-abc",
    "URL with a password": "url = 'postgresql://app:" + "s3cret-pw@db:5432/x'",
}


def hook(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True
    )


@pytest.mark.parametrize(("kind", "line"), SECRETS.items())
def test_no_secrets_finds(tmp_path, kind, line):
    path = tmp_path / "config.py"
    path.write_text(f"x = 1\n{line}\n")
    proc = hook("check_no_secrets.py", str(path))
    assert proc.returncode == 1
    assert f"{path}:2: {kind}" in proc.stderr


@pytest.mark.parametrize(
    "line",
    [
        "password: {env: DAGSTER_PG_PASSWORD}",
        'url = f"postgresql://{user}:{password}@127.0.0.1/{db}"',
        "MLFLOW_TRACKING_URI: http://mlflow:5000",
        "dsn = 'postgresql://app:" + "fixture-pw@db/x'  # pragma: allowlist secret",
    ],
)
def test_no_secrets_lets_references_and_marked_fixtures_pass(tmp_path, line):
    path = tmp_path / "ok.yaml"
    path.write_text(line + "\n")
    assert hook("check_no_secrets.py", str(path)).returncode == 0


def test_large_files(tmp_path):
    small, big = tmp_path / "small.bin", tmp_path / "big.parquet"
    small.write_bytes(b"x" * 1024)
    big.write_bytes(b"x" * 600 * 1024)
    proc = hook("check_large_files.py", "--max-kb", "500", str(small), str(big))
    assert proc.returncode == 1
    assert proc.stderr == f"{big}: 600 KiB exceeds 500 KiB (keep data out of git)\n"
    assert hook("check_large_files.py", str(small)).returncode == 0
