"""`make ui`: the Dagster UI starts and loads the definitions with no errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration import settings
from orchestration.dagster_home import ensure_dagster_home
from tests.conftest import PROJECT_VARIABLES

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20
LOG_TAIL_CHARS = 4000

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on PythonError { message }
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
  }
}
"""
ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } } }"
# dagster dev colors its log levels with ANSI escape codes, e.g. "\x1b[31mERROR\x1b[0m".
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class DagsterUI:
    """A running `dagster dev` and the file that receives its stdout and stderr."""

    process: subprocess.Popen
    url: str
    log: Path
    home: Path

    def log_tail(self) -> str:
        """Return the end of the output so far, for assertion messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"dagster dev output (last {LOG_TAIL_CHARS} chars):\n{text[-LOG_TAIL_CHARS:]}"

    def graphql(self, query: str) -> dict:
        """POST a GraphQL query and return its `data`, failing the test on GraphQL errors."""
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
        assert "errors" not in body, f"GraphQL errors: {body['errors']}\n{self.log_tail()}"
        return body["data"]


def free_port() -> int:
    """Return a port on 127.0.0.1 that is free when checked."""
    # NOTE: another process could bind the port before dagster dev does, which fails startup.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ui_environment(root: Path) -> dict[str, str]:
    """Return the shell's environment without the project's variables, plus the test's own."""
    env = {name: value for name, value in os.environ.items() if name not in PROJECT_VARIABLES}
    env["DAGSTER_HOME"] = str(root / "dagster_home")
    env["DAGSTER_DISABLE_TELEMETRY"] = "1"
    env[settings.ENV_DATA_DIR] = str(root / "data")
    env[settings.ENV_WAREHOUSE_PATH] = str(root / "data" / "warehouse.duckdb")
    return env


def prepare_dagster_home(env: dict[str, str]) -> Path:
    """Write dagster.yaml in env's DAGSTER_HOME with the project's helper, as `make ui` does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        return ensure_dagster_home()


def wait_until_loaded(ui: DagsterUI) -> None:
    """Poll /server_info, then the workspace, until every code location has finished loading."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = "no request sent"
    while time.monotonic() < deadline:
        exit_code = ui.process.poll()
        assert exit_code is None, f"dagster dev exited with code {exit_code}\n{ui.log_tail()}"
        try:
            with urllib.request.urlopen(f"{ui.url}/server_info", timeout=5) as response:
                response.read()
            workspace = ui.graphql(WORKSPACE_QUERY)["workspaceOrError"]
            entries = workspace.get("locationEntries") or []
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return
            last_error = f"workspace not loaded yet: {workspace}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last_error = repr(error)
        time.sleep(1)
    pytest.fail(
        f"Dagster UI at {ui.url} not ready after {STARTUP_TIMEOUT_SECONDS} s "
        f"(last result: {last_error})\n{ui.log_tail()}"
    )


def stop(process: subprocess.Popen) -> None:
    """Send SIGINT to the process group, as Ctrl-C does, and SIGKILL what remains."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # The webserver, daemon and code server share the group, so kill any that outlived the parent.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[DagsterUI]:
    """Start `dagster dev` the way `make ui` does, on a free port, and stop it afterwards."""
    root = tmp_path_factory.mktemp("ui")
    env = ui_environment(root)
    home = prepare_dagster_home(env)
    port = free_port()
    log = root / "dagster_dev.log"
    dagster = Path(sys.executable).parent / "dagster"
    # `dagster dev`, as `make ui` runs it, because SIGINT to its group stops it in about 3 s.
    command = [
        "env",
        "--default-signal=INT,TERM",
        str(dagster),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        HOST,
        "-p",
        str(port),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=settings.PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui = DagsterUI(process=process, url=f"http://{HOST}:{port}", log=log, home=home)
    try:
        wait_until_loaded(ui)
        yield ui
    finally:
        stop(process)


def test_dagster_home_has_config(dagster_ui: DagsterUI) -> None:
    config = dagster_ui.home / "dagster.yaml"
    assert config.exists(), f"{config} is missing: ensure_dagster_home() did not write it"


def test_ui_loads_code_location_without_errors(dagster_ui: DagsterUI) -> None:
    workspace = dagster_ui.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", f"{workspace}\n{dagster_ui.log_tail()}"

    entries = workspace["locationEntries"]
    assert entries, f"workspace has no code locations\n{dagster_ui.log_tail()}"
    for entry in entries:
        location = entry["locationOrLoadError"] or {}
        assert location.get("__typename") == "RepositoryLocation", (
            f"code location {entry['name']} failed to load: "
            f"{location.get('message')}\n{''.join(location.get('stack') or [])}\n"
            f"{dagster_ui.log_tail()}"
        )


def test_ui_lists_known_asset_keys(dagster_ui: DagsterUI) -> None:
    nodes = dagster_ui.graphql(ASSET_NODES_QUERY)["assetNodes"]
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert "raw/onet_task_statements" in keys, f"asset keys in the UI: {sorted(keys)}"
    assert "marts/soc_major_group_usage" in keys, f"asset keys in the UI: {sorted(keys)}"


def test_ui_output_has_no_errors(dagster_ui: DagsterUI) -> None:
    output = ANSI_ESCAPE.sub("", dagster_ui.log.read_text(errors="replace"))
    assert " - ERROR - " not in output, dagster_ui.log_tail()
    assert "Error loading repository location" not in output, dagster_ui.log_tail()
    assert "Traceback" not in output, dagster_ui.log_tail()
