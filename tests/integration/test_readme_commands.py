"""Every command of the README, run as written from a clean shell after the set-up command.

Each fenced bash block runs in a fresh `env -i` shell (HOME, PATH=/usr/bin:/bin, a temporary
MLPLATFORM_HOME) from the repository root; the test session already has the environment the
set-up creates, so of the set-up line only its last command (`mlplatform quickstart`) runs. The
commands the quickstart prints (open the UI, serve the model) run too. Long-running commands
(`dagster dev`, `mlplatform serve`) are started, probed over HTTP and stopped by PID, on a free
port instead of the fixed 3000 and 8080 (other tests may hold those). Lines that need what no
test machine has are listed in NOT_RUN with the reason; the list must match the README exactly.
Every ```python block then runs in the same clean shell with `.venv/bin/python`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration._cli import ROOT
from tests.integration._services import free_port, start, stop

pytestmark = pytest.mark.integration

README = (ROOT / "README.md").read_text()
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
SETUP = BASH_BLOCKS[0].splitlines()[2]
NOT_RUN = {
    "bash .ci/run": "the whole test suite (what CI runs), of which this test is a part",
    '.venv/bin/mlplatform deploy --target prod --image-tag "$GITHUB_SHA"': "needs helm, a "
    "Kubernetes cluster and the image in a registry; the dry runs render and validate the same "
    "release",
}
TOOL = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:dagster|dg|mlplatform|python3?|pre-commit|pytest)(?=\s|$)")
LONG_RUNNING = re.compile(r"dagster dev\b")
SERVER = "localhost:8080"


def _uncommented(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).rstrip()


def _commands(block: str) -> list[str]:
    """The first line of each command of the block (comments and blank lines left out)."""
    lines, in_quote, continued = [], False, False
    for line in block.splitlines():
        if not (in_quote or continued) and line.strip() and not line.lstrip().startswith("#"):
            lines.append(_uncommented(line))
        in_quote ^= line.count("'") % 2 == 1
        continued = line.rstrip().endswith("\\")
    return lines


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """A clean environment (what `env -i` leaves plus the data home) and the set-up's output."""
    tmp = tmp_path_factory.mktemp("readme")
    env = {"HOME": str(Path.home()), "PATH": "/usr/bin:/bin", "MLPLATFORM_HOME": str(tmp / "home")}
    quickstart = SETUP.split(" && ")[-1]
    assert quickstart == ".venv/bin/mlplatform quickstart", SETUP
    proc = _bash(quickstart, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"env": env, "tmp": tmp, "quickstart": proc.stdout}


def _bash(script: str, env: dict, timeout: float = 600, cwd: Path = ROOT):
    return subprocess.run(
        [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in env.items()),
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _start(script: str, env: dict, log: Path) -> subprocess.Popen:
    cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "-euo", "pipefail", "-c"]
    return start([*cmd, script], {}, log)


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message }
    ... on RepositoryLocation { repositories { assetNodes { id } } } } } } } }"""


def _ui_is_up(proc: subprocess.Popen, port: int, log: Path, timeout: float = 300) -> int:
    """Wait until the UI on `port` has loaded every code location; return their asset count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode} before the UI was up:\n{log.read_text()}")
        try:
            entries = _graphql(port, LOCATIONS)["workspaceOrError"]["locationEntries"]
        except (OSError, KeyError, TypeError, ValueError):
            entries = []
        loaded = [e["locationOrLoadError"] for e in entries]
        errors = [x["message"] for x in loaded if x and x["__typename"] == "PythonError"]
        assert not errors, errors
        if entries and all(x and x["__typename"] == "RepositoryLocation" for x in loaded):
            return sum(len(r["assetNodes"]) for x in loaded for r in x["repositories"])
        time.sleep(1)
    pytest.fail(f"the UI on port {port} did not load within {timeout:.0f} s:\n{log.read_text()}")


def _run_long(script: str, env: dict, tmp: Path, name: str) -> int:
    """Run `script`, whose last line is `dagster dev`, on a free port; probe it; stop it."""
    port = free_port()
    *before, last = script.rstrip().splitlines()
    last = f"exec env {_uncommented(last).strip()} -p {port}"  # env: VAR=x before the command
    log = tmp / f"{name}.log"
    proc = _start("\n".join([*before, last]), env, log)
    try:
        assets = _ui_is_up(proc, port, log)
    finally:
        stop(proc)
    return assets


def _serving(script: str, port: int) -> str:
    script = script.replace(SERVER, f"localhost:{port}")
    return script.replace("mlplatform serve &", f"mlplatform serve --port {port} &")


def test_every_command_is_run_or_listed_with_a_reason():
    commands = [c for block in BASH_BLOCKS for c in _commands(block)]
    bare = [c for c in commands if TOOL.match(c)]
    assert bare == [], f"commands that fail without an activated environment: {bare}"
    for line in NOT_RUN:
        assert line in commands, f"NOT_RUN lists {line!r}, which the README no longer has"


def test_every_venv_command_the_readme_names_exists():
    named = set(re.findall(r"\.venv/bin/([\w.-]+)", README))
    assert {"mlplatform", "dagster", "dg", "python", "pre-commit"} <= named
    missing = [name for name in sorted(named) if not (ROOT / ".venv" / "bin" / name).is_file()]
    assert missing == []


def test_the_quickstart_and_the_commands_it_prints(shell):
    out, env, tmp = shell["quickstart"], shell["env"], shell["tmp"]
    home = env["MLPLATFORM_HOME"]
    assert "promotion: the evaluation said promote" in out, out
    ui = re.search(r"^Open the UI:\s+(.*)$", out, re.M).group(1)
    assert ui == f"MLPLATFORM_HOME={home} DAGSTER_HOME={home}/dagster .venv/bin/dagster dev"
    assert _run_long(ui, env, tmp, "quickstart-ui") >= 15
    serve = re.search(r"^Serve the model:\s+(.*)$", out, re.M).group(1)
    assert serve == f"MLPLATFORM_HOME={home} .venv/bin/mlplatform serve"
    # the key-only request of the README against the server the quickstart's hint starts
    [key_only] = [b for b in BASH_BLOCKS if SERVER in b and "serve &" not in b]
    port = free_port()
    log = tmp / "serve.log"
    proc = _start(f"{serve} --port {port}", env, log)
    try:
        probe = f"until curl -sf localhost:{port}/ready >/dev/null; do sleep 1; done"
        assert _bash(probe, env, timeout=180).returncode == 0, log.read_text()
        proc_out = _bash(_serving(key_only, port), env)
    finally:
        stop(proc)
    assert proc_out.returncode == 0, proc_out.stderr
    predictions = json.loads(proc_out.stdout)["predictions"]
    assert len(predictions) == 2 and all(0 <= p <= 1 for p in predictions), proc_out.stdout


@pytest.mark.parametrize("index", range(1, len(BASH_BLOCKS)))
def test_bash_block(shell, index):
    block = BASH_BLOCKS[index]
    env, tmp = shell["env"], shell["tmp"]
    lines = [line for line in block.splitlines() if _uncommented(line) not in NOT_RUN]
    script = "\n".join(lines)
    if SERVER in block and "serve &" not in block:
        return  # the key-only request: run against the quickstart's server, above
    commands = _commands(script)
    if commands and LONG_RUNNING.search(commands[-1]):
        assert not any(LONG_RUNNING.search(c) for c in commands[:-1]), block
        assert _run_long(script, env, tmp, f"block-{index}") >= 1
        return
    if "serve &" in block:
        script = _serving(script, free_port())
        proc = _bash(script, env, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        answer = re.search(r'\{"predictions": ?\[[^\]]*\]\}', proc.stdout)
        assert answer and len(json.loads(answer.group(0))["predictions"]) == 1, proc.stdout
        return
    cwd = ROOT
    if "mlplatform deploy" in block:  # the dry runs write build/deploy/ into the current folder
        cwd = tmp / f"block-{index}"
        cwd.mkdir()
        (cwd / ".venv").symlink_to(ROOT / ".venv")
    proc = _bash(script, env, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "mlplatform: warning" not in proc.stderr, proc.stderr[-3000:]  # homes set as needed
    if "mlplatform deploy" in block:
        assert proc.stdout.count("dry run: nothing applied") == 2, proc.stdout


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block(shell, index):
    """Each ```python block in a clean shell, after the bash blocks (the pipeline spec ran)."""
    proc = _bash(f".venv/bin/python -c {_quote(PYTHON_BLOCKS[index])}", shell["env"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    if "create_training_set" in PYTHON_BLOCKS[index]:
        assert "shape: (2, " in proc.stdout, proc.stdout
    if "duckdb" in PYTHON_BLOCKS[index]:
        assert "valid_customer_id" in proc.stdout, proc.stdout


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_the_blocks_left_no_temporary_dagster_home_in_the_repository(shell):
    """`dagster dev` without DAGSTER_HOME makes ./.tmp_dagster_home_*: the README sets it."""
    assert sorted(p.name for p in ROOT.glob(".tmp_dagster_home_*")) == []


BENCHES = sorted(set(re.findall(r"`(\S*python) (bench/\w+\.py)\b", README)))


def test_every_bench_the_readme_names_runs_as_written_with_help():
    """The benchmarks are run by hand; their commands, as the README writes them, start."""
    assert {bench for _, bench in BENCHES} == {
        f"bench/{p.name}" for p in (ROOT / "bench").glob("*.py") if p.name != "http_load.py"
    }, BENCHES
    env = {"HOME": str(Path.home()), "PATH": "/usr/bin:/bin"}
    for python, bench in BENCHES:
        proc = _bash(f"{python} {bench} --help", env, timeout=120)
        assert proc.returncode == 0 and "usage:" in proc.stdout.lower(), (bench, proc.stderr)
