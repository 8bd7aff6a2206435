"""What a bundle reads from where it runs: the project's git checkout and the local user (the
`${bundle.git.*}` and `${workspace.current_user.*}` values)."""

from __future__ import annotations

import getpass
import re
import subprocess
from pathlib import Path


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_info(root: Path) -> dict[str, str]:
    """`commit`, `branch`, `origin_url` of the checkout holding `root` (empty outside git)."""
    found = {
        "commit": _git(root, "rev-parse", "HEAD"),
        "branch": _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        "origin_url": _git(root, "config", "--get", "remote.origin.url"),
    }
    if found["branch"] == "HEAD":  # detached
        found["branch"] = ""
    return {key: value for key, value in found.items() if value}


def current_user(user_name: str | None = None) -> dict[str, str]:
    """The local user as `workspace.current_user`: `userName`, `short_name` (the part before
    `@`, other characters than letters, digits and `_` replaced by `_`), `domain_friendly_name`."""
    name = user_name or getpass.getuser()
    short = re.sub(r"[^A-Za-z0-9_]", "_", name.split("@")[0])
    return {"userName": name, "short_name": short, "domain_friendly_name": short}
