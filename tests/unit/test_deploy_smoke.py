"""The post-deploy smoke test against a stand-in GraphQL endpoint on the loopback interface."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from mlplatform.deployment import smoke


class FakeDagster:
    """Answers the queries the smoke test sends, from canned state; records launches."""

    def __init__(self, entries):
        self.entries = entries
        self.launches = []
        self.statuses = ["STARTED", "SUCCESS"]

    def answer(self, body):
        query = body["query"]
        if "workspaceOrError" in query:
            workspace = {"__typename": "Workspace", "locationEntries": self.entries}
            return {"workspaceOrError": workspace}
        if "launchPipelineExecution" in query:
            self.launches.append(body["variables"]["executionParams"]["selector"])
            return {
                "launchPipelineExecution": {
                    "__typename": "LaunchRunSuccess",
                    "run": {"runId": "run-1"},
                }
            }
        if "pipelineRunOrError" in query:
            return {"pipelineRunOrError": {"__typename": "Run", "status": self.statuses.pop(0)}}
        raise AssertionError(query)


@pytest.fixture
def server():
    state = FakeDagster([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            payload = json.dumps({"data": state.answer(body)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


LOADED = {
    "name": "mlplatform",
    "loadStatus": "LOADED",
    "locationOrLoadError": {"__typename": "RepositoryLocation"},
}


def run(*args):
    return CliRunner().invoke(smoke.main, list(args))


def test_loaded_location_passes(server):
    state, url = server
    state.entries = [LOADED]
    result = run("--url", url, "--location", "mlplatform")
    assert result.exit_code == 0, result.output
    assert "code location mlplatform is loaded" in result.output
    assert state.launches == []


def test_location_with_a_load_error_fails(server):
    state, url = server
    state.entries = [
        {
            "name": "mlplatform",
            "loadStatus": "LOADED",
            "locationOrLoadError": {"__typename": "PythonError", "message": "ImportError: boom"},
        }
    ]
    result = run("--url", url, "--location", "mlplatform")
    assert result.exit_code == 1
    assert "smoke test failed: code location 'mlplatform' did not load: ImportError: boom" in (
        result.output
    )


def test_missing_location_fails(server):
    state, url = server
    state.entries = [LOADED]
    result = run("--url", url, "--location", "dev-bob-mlplatform")
    assert result.exit_code == 1
    assert "code location 'dev-bob-mlplatform' not found (have: mlplatform)" in result.output


def test_smoke_run_of_the_targets_assets_waits_for_success(server, monkeypatch):
    state, url = server
    state.entries = [LOADED]
    monkeypatch.setenv("MLPLATFORM_VAR_image_repository", "acme/mlplatform")
    monkeypatch.setattr(smoke.time, "sleep", lambda s: None)
    result = run("--url", url, "--target", "staging", "--smoke-run")
    assert result.exit_code == 0, result.output
    assert "run run-1 succeeded" in result.output
    assert state.launches == [
        {
            "repositoryLocationName": "mlplatform",
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "solidSelection": None,
            "assetSelection": [{"path": ["bronze", "raw_customer_events"]}],
        }
    ]


def test_failed_run_fails_the_smoke_test(server, monkeypatch):
    state, url = server
    state.entries = [LOADED]
    state.statuses = ["FAILURE"]
    result = run("--url", url, "--location", "mlplatform", "--job", "feature_pipeline_job")
    assert result.exit_code == 1
    assert "smoke test failed: run run-1 ended FAILURE" in result.output
    assert state.launches[0]["pipelineName"] == "feature_pipeline_job"


def test_unreachable_webserver_fails_cleanly():
    result = run("--url", "http://127.0.0.1:9", "--location", "mlplatform")
    assert result.exit_code == 1
    assert "smoke test failed:" in result.output


def test_retrain_launches_the_targets_training_job_without_waiting(server, monkeypatch):
    state, url = server
    state.entries = [LOADED]
    monkeypatch.setenv("MLPLATFORM_VAR_image_repository", "acme/mlplatform")
    result = run("--url", url, "--target", "prod", "--retrain", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "launched run run-1" in result.output and "succeeded" not in result.output
    assert state.launches[0]["pipelineName"] == "ml_training_job"
    assert state.launches[0]["assetSelection"] is None
