"""The claude backend (against a fake API) and the replay backend drive the whole graph."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.defs.tagging.replay import export_exchanges
from orchestration.defs.tagging.resource import Tagging
from tests.fake_claude import (
    CURRENT,
    FakeClaude,
    FakeClaudeTagging,
    is_task_call,
    seed_reference,
    task_items,
)
from tests.fake_claude import conversations as numbered
from tests.fixtures.mirror import write_fixture_mirror
from tests.graph import materialization_metadata, materialize_all, query


def _seeded_warehouse(data: Path) -> Path:
    warehouse = data / "warehouse.duckdb"
    data.mkdir(parents=True)
    connection = duckdb.connect(str(warehouse))
    try:
        seed_reference(connection)
    finally:
        connection.close()
    return warehouse


def _run(root: Path, mirror: Path, tagging: Tagging):
    warehouse = _seeded_warehouse(root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_DATA_DIR, str(root / "data"))
        patch.setenv(settings.ENV_WAREHOUSE_PATH, str(warehouse))
        result = materialize_all(mirror, tagging=tagging)
    return result, warehouse


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """A claude run on the fixture mirror, its export, then a replay run in a new warehouse."""
    root = tmp_path_factory.mktemp("replay_graph")
    mirror = write_fixture_mirror(root / "mirror")
    fake = FakeClaude()
    CURRENT["fake"] = fake
    claude_tagging = FakeClaudeTagging(
        backend="claude", api_key="test-key", batch_threshold=None, concurrency=2
    )
    claude_result, claude_warehouse = _run(root / "claude", mirror, claude_tagging)
    recordings = root / "recordings" / "exchanges.jsonl"
    connection = duckdb.connect(str(claude_warehouse), read_only=True)
    try:
        exported = export_exchanges(connection, recordings)
    finally:
        connection.close()
    replay_tagging = Tagging(backend="replay", replay_dir=str(recordings.parent))
    replay_result, replay_warehouse = _run(root / "replay", mirror, replay_tagging)
    return {
        "claude": claude_result,
        "replay": replay_result,
        "fake": fake,
        "exported": exported,
        "claude_warehouse": claude_warehouse,
        "replay_warehouse": replay_warehouse,
    }


def test_both_runs_succeed(runs: dict) -> None:
    assert runs["claude"].success
    assert runs["replay"].success


def test_claude_run_groups_conversations(runs: dict) -> None:
    conversations, occupational = query(
        runs["claude_warehouse"],
        "select count(*), count(*) filter (where is_occupational) from raw.conversation_tags",
    )[0]
    # The cluster namer and auditor send the other requests.
    bodies = [
        body
        for body in runs["fake"].message_bodies
        if body["tools"][0]["name"] in ("record_screen", "record_tasks")
    ]
    screens = [body for body in bodies if not is_task_call(body)]
    task_requests = [body for body in bodies if is_task_call(body)]
    sizes = [len(numbered(body)) for body in screens]
    # Up to 20 conversations a request (the default group_size); identical texts share one.
    assert occupational > 0
    assert max(sizes) <= 20
    assert sum(sizes) <= conversations
    assert len(screens) == math.ceil(sum(sizes) / 20)
    # The fake places every occupational conversation in the first middle group and gives
    # each text its own summary. The fixture fits in one page, so call 2 sends that group's
    # task list once per 20 distinct summaries.
    summaries = query(
        runs["claude_warehouse"],
        "select count(distinct summary) from raw.conversation_tags where is_occupational",
    )[0][0]
    task_sizes = [len(task_items(body)) for body in task_requests]
    assert conversations <= 2000
    assert sum(task_sizes) == summaries
    assert len(task_requests) == math.ceil(summaries / 20)
    offered = {
        tuple(body["tools"][0]["input_schema"]["properties"]["tasks"]["items"]["properties"][
            "task_id"
        ]["enum"])
        for body in task_requests
    }
    assert len(offered) == 1
    metadata = materialization_metadata(runs["claude"], ["raw", "conversation_tags"])
    assert metadata["llm_calls"] == len(bodies)
    assert metadata["cost_usd"] > 0


def test_replay_tags_every_conversation(runs: dict) -> None:
    rows = query(
        runs["replay_warehouse"],
        "select backend, status, count(*) from raw.conversation_tags group by all",
    )
    conversations = query(runs["replay_warehouse"], "select count(*) from raw.conversations")[0][0]
    assert rows == [("replay", "tagged", conversations)]


def test_replay_matches_claude_tags(runs: dict) -> None:
    sql = """
        select source, conversation_id, task_id, interaction_mode, summary, language
        from raw.conversation_tags order by source, conversation_id
    """
    assert query(runs["replay_warehouse"], sql) == query(runs["claude_warehouse"], sql)


def test_marts_fill_from_replay(runs: dict) -> None:
    rows = query(
        runs["replay_warehouse"],
        """
        select task_key, conversation_count
        from marts.task_usage
        where usage_source = 'pipeline' and not is_suppressed
        """,
    )
    occupational = query(
        runs["replay_warehouse"],
        "select count(*) from raw.conversation_tags where is_occupational",
    )[0][0]
    # The fake chose the first task of the first middle group for every occupational one.
    first_task = query(
        runs["replay_warehouse"],
        """
        select lower(tasks.name)
        from raw.task_hierarchy as tasks
        where tasks.level = 3 and tasks.parent_id = (
            select min(node_id) from raw.task_hierarchy where level = 2
        )
        order by tasks.task_id
        limit 1
        """,
    )[0][0]
    assert rows == [(first_task, occupational)]


def test_replay_run_writes_no_cache(runs: dict) -> None:
    count = query(runs["replay_warehouse"], "select count(*) from raw.llm_cache")[0][0]
    assert count == 0
    assert runs["exported"] > 0
