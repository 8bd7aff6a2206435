"""Refuse files that contain credentials (pre-commit hook).

Looks for private keys, cloud and SaaS tokens, and URLs with a password. A line that must hold
such a string (a test fixture) says so with the comment `pragma: allowlist secret`.

Usage: python scripts/check_no_secrets.py FILE...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ALLOW = "pragma: allowlist secret"
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b", re.I
    ),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "API secret key": re.compile(r"\bsk-(?:proj-|live-)?[A-Za-z0-9_-]{32,}"),
    "URL with a password": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"${}<>*]{3,}@"),
}


def findings(path: Path) -> list[str]:
    """`file:line: kind` for each suspected secret in `path` (binary files are skipped)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []
    result = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if ALLOW in line:
            continue
        result += [f"{path}:{number}: {kind}" for kind, rx in PATTERNS.items() if rx.search(line)]
    return result


def main(argv: list[str] | None = None) -> int:
    """Print each finding; return 1 if there is any."""
    names = sys.argv[1:] if argv is None else argv
    found = [f for name in names if Path(name).is_file() for f in findings(Path(name))]
    for line in found:
        sys.stderr.write(f"{line} (move it to a secret store, or mark a fixture: {ALLOW})\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
