"""Refuse files larger than a limit (pre-commit hook; the local twin of check-added-large-files).

Usage: python scripts/check_large_files.py [--max-kb N] FILE...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Print each file over the limit; return 1 if there is any."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-kb", type=int, default=500, help="largest allowed size in KiB")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    too_large = [
        (name, Path(name).stat().st_size // 1024)
        for name in args.files
        if Path(name).is_file() and Path(name).stat().st_size > args.max_kb * 1024
    ]
    for name, kib in too_large:
        sys.stderr.write(f"{name}: {kib} KiB exceeds {args.max_kb} KiB (keep data out of git)\n")
    return 1 if too_large else 0


if __name__ == "__main__":
    sys.exit(main())
