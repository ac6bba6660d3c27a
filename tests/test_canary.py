"""Planted personal details leave no trace anywhere a pipeline run writes.

Places checked: every table of the warehouse, every log line and Dagster event, the report,
dbt's run artefacts, the dbt docs built from the run's warehouse and, with the replay
backend, every model request body the client sends. The summaries, cluster labels, cluster
marts and the clusters page are also checked on their own, for the planted details and for
a company name that the scrubber leaves in the stored messages.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
from pathlib import Path

import duckdb
import httpx2
import pytest

from orchestration import settings
from orchestration.defs.tagging.replay import ReplayTransport, WarehouseResponses
from orchestration.defs.tagging.resource import Tagging
from tests.fake_claude import conversations, seed_reference, tool_name
from tests.fixtures.mirror import write_fixture_mirror
from tests.graph import materialize_all

CANARY_ACCOUNT = "canary-account-77"
CANARY_MESSAGES = [
    "Hi Zebulon, my name is Zebulon Quintrell and I need a cover letter.",
    "Write to canary.zebulon@example.org or call (555) 013-4567 after 5pm.",
    "My card is 4111 1111 1111 1111 and my SSN is 078-05-1120.",
    "Pay into GB82 WEST 1234 5698 7654 32, server 203.0.113.77.",
    "Ship it to 742 Evergreen Terrace, Springfield, IL 62704.",
    "The key is sk-ant-api03-Zq9CANARYtokenABCDEFGHIJKLMNOP1234 please keep it.",
    'Reply to "Zebulon Quintrell" <zq.canary@example.org>\n\nBest regards,\nZebulon Quintrell',
    # The scrubber keeps company names; summaries and cluster labels must drop them.
    "Please review the contract with Vantorpe Industries before the board meets.",
]
# Substrings that must not appear anywhere; each belongs to one planted detail.
CANARIES = [
    "Zebulon",
    "Quintrell",
    "canary.zebulon",
    "zq.canary",
    "013-4567",
    "4111 1111 1111 1111",
    "078-05-1120",
    "GB82",
    "203.0.113.77",
    "Evergreen",
    "CANARYtoken",
    CANARY_ACCOUNT,
]
# In the stored messages, but in no summary, cluster label, cluster mart or page.
SUMMARY_CANARIES = [*CANARIES, "Vantorpe"]


def _write_canary_inbox(inbox: Path) -> None:
    inbox.mkdir()
    records = [
        {
            "id": f"canary-{index}",
            "account_id": CANARY_ACCOUNT,
            "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": f"Sure. {text}"},
            ],
        }
        for index, text in enumerate(CANARY_MESSAGES)
    ]
    # One broken line, so the quarantine excerpt is checked too.
    lines = [json.dumps(record) for record in records] + [CANARY_MESSAGES[1] + " {not json"]
    (inbox / "canary.jsonl").write_text("\n".join(lines) + "\n")


def _warehouse_text(warehouse: Path) -> str:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        chunks = []
        for schema, table in tables:
            rows = connection.execute(f'select * from "{schema}"."{table}"').fetchall()
            chunks.append(f"{schema}.{table}: {rows!r}")
        return "\n".join(chunks)
    finally:
        connection.close()


def _clustering_text(warehouse: Path) -> dict[str, str]:
    """Return the summaries, cluster labels and cluster marts as text, one entry each."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        summaries = connection.execute(
            "select source, conversation_id, summary from raw.conversation_facets"
        ).fetchall()
        labels = connection.execute(
            "select name, description, suppression_reason from raw.clusters"
        ).fetchall()
        marts = connection.execute("select * from marts.clusters").fetchall()
        marts += connection.execute("select * from marts.cluster_mix").fetchall()
    finally:
        connection.close()
    return {
        "summaries": repr(summaries),
        "cluster_labels": repr(labels),
        "cluster_marts": repr(marts),
    }


def _files_text(*folders: Path) -> str:
    chunks = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".md", ".json", ".html", ".csv", ".txt"):
                chunks.append(path.read_text(errors="replace"))
    return "\n".join(chunks)


def _generate_dbt_docs(target: Path, warehouse: Path) -> Path:
    """Build dbt docs from the run's warehouse, as `make docs` does, into target."""
    subprocess.run(
        [
            settings.dbt_executable(),
            "docs",
            "generate",
            "--profiles-dir",
            ".",
            "--quiet",
            "--target-path",
            str(target),
        ],
        cwd=settings.PROJECT_ROOT,
        env={**os.environ, settings.ENV_WAREHOUSE_PATH: str(warehouse)},
        check=True,
    )
    return target


# Request bodies the replay transport received in the current canary run.
REQUEST_BODIES: list[dict] = []


class RecordingReplayTagging(Tagging):
    """The replay backend with every request body kept in REQUEST_BODIES."""

    def make_http_client(self, connection: duckdb.DuckDBPyConnection) -> httpx2.Client | None:
        sources = [WarehouseResponses(connection).get]
        return httpx2.Client(transport=ReplayTransport(sources, on_request=REQUEST_BODIES.append))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module", params=["offline", "replay"])
def canary_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path
) -> dict[str, str]:
    """Run the whole graph once per backend on the canary inbox and gather what it wrote."""
    backend = request.param
    root = tmp_path_factory.mktemp(f"canary_{backend}")
    mirror = write_fixture_mirror(root / "mirror")
    inbox = root / "inbox"
    _write_canary_inbox(inbox)
    data = root / "data"
    tagging = None
    REQUEST_BODIES.clear()
    if backend == "replay":
        # The replay backend walks the task hierarchy, which the fixture mirror lacks.
        data.mkdir(parents=True)
        connection = duckdb.connect(str(data / "warehouse.duckdb"))
        try:
            seed_reference(connection)
        finally:
            connection.close()
        tagging = RecordingReplayTagging(backend="replay", concurrency=1)
    handler = _Collect()
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in (settings.ENV_DATA_MIRROR, settings.ENV_CONVERSATION_INBOX):
                patch.delenv(name, raising=False)
            patch.setenv(settings.ENV_DATA_DIR, str(data))
            patch.setenv(settings.ENV_WAREHOUSE_PATH, str(data / "warehouse.duckdb"))
            result = materialize_all(
                mirror, load_public_samples=False, inbox=inbox, tagging=tagging
            )
            docs = _generate_dbt_docs(root / "docs", data / "warehouse.duckdb")
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(previous_level)
    assert result.success
    events = "\n".join(str(event.message) for event in result.all_events)
    warehouse = data / "warehouse.duckdb"
    return {
        **_clustering_text(warehouse),
        "page": (data / "reports" / "clusters.html").read_text(),
        "warehouse": _warehouse_text(warehouse),
        "logs": "\n".join(handler.lines) + events,
        "files": _files_text(data, docs, settings.PROJECT_ROOT / "target" / "dagster"),
        "requests": json.dumps(REQUEST_BODIES, ensure_ascii=False),
        "backend": backend,
    }


def test_canary_conversations_were_loaded(canary_run: dict[str, str]) -> None:
    assert "canary-3" in canary_run["warehouse"]
    assert "[EMAIL]" in canary_run["warehouse"]
    # The company name is stored in the messages, so its absence below means something.
    assert "Vantorpe" in canary_run["warehouse"]


def test_canary_conversations_were_summarised_and_clustered(canary_run: dict[str, str]) -> None:
    assert "canary-7" in canary_run["summaries"]
    assert "contract" in canary_run["summaries"]
    assert canary_run["cluster_labels"] != "[]"
    assert canary_run["page"].startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("place", ["summaries", "cluster_labels", "cluster_marts", "page"])
@pytest.mark.parametrize("canary", SUMMARY_CANARIES)
def test_canary_absent_from_clusters(canary_run: dict[str, str], place: str, canary: str) -> None:
    assert canary not in canary_run[place]


def test_replay_sends_scrubbed_requests(canary_run: dict[str, str]) -> None:
    if canary_run["backend"] != "replay":
        pytest.skip("only the replay backend sends model requests")
    assert "[EMAIL]" in canary_run["requests"]
    assert "[CARD]" in canary_run["requests"]


def test_replay_request_count_and_shape(canary_run: dict[str, str]) -> None:
    if canary_run["backend"] != "replay":
        pytest.skip("only the replay backend sends model requests")
    requests = json.loads(canary_run["requests"])
    # Cluster naming sends the other requests.
    bodies = [body for body in requests if tool_name(body) in ("record_screen", "record_tasks")]
    # Nothing is recorded, so every call-1 request fails and no call 2 follows.
    assert {tool_name(body) for body in bodies} == {"record_screen"}
    sizes = [len(conversations(body)) for body in bodies]
    assert max(sizes) <= 20
    assert len(bodies) == math.ceil(sum(sizes) / 20)
    for body in bodies:
        [block] = body["messages"][0]["content"]
        assert "cache_control" not in block


@pytest.mark.parametrize("place", ["warehouse", "logs", "files", "requests"])
@pytest.mark.parametrize("canary", CANARIES)
def test_canary_leaves_no_trace(canary_run: dict[str, str], place: str, canary: str) -> None:
    assert canary not in canary_run[place]
