#!/usr/bin/env bash
# Create .venv with the project and its dev tools: the install steps of .ci/run, for CI jobs that
# run one project command (pre-commit, mlplatform deploy, ...) instead of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

python3.11 -m pip install -q uv==0.9.30
uv venv -q --allow-existing -p python3.11 .venv
uv pip install -q --compile-bytecode -p .venv/bin/python -e '.[dev]'
