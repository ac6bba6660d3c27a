"""The Claude cluster namer and auditor against a fake API: cache, audit threshold, privacy."""

from __future__ import annotations

import json
import re

import duckdb
import httpx2
import numpy as np
import pandas as pd
import pytest

from orchestration.defs.clustering.claude import (
    AUDIT_PURPOSE,
    CLUSTER_OWNER_SOURCE,
    NAME_PURPOSE,
    ClaudeAuditor,
    ClaudeNamer,
    build_cluster_runner,
    prune_unused_cache,
)
from orchestration.defs.clustering.resource import Clustering
from orchestration.defs.clustering.topics import ClusterSettings, cluster_summaries
from orchestration.defs.conversations.lineage import delete_conversations
from tests.fake_claude import (
    CLUSTER_AUDIT_TOOL,
    CLUSTER_NAME_TOOL,
    CURRENT,
    FakeClaude,
    FakeClaudeTagging,
    conversation_text,
    message,
    tool_name,
    tool_use,
)

SETTINGS = ClusterSettings(target_cluster_size=25, top_size=1, max_branching=10)
LIST_ITEM = re.compile(r"^- (.*)$", re.MULTILINE)


def _topics() -> tuple[np.ndarray, list[str], list[str], list[tuple[str, str]]]:
    """Soup and stew requests close together, python requests apart; 110 conversations."""
    rows, summaries, accounts, keys = [], [], [], []
    for topic, count, vector in (
        ("soup", 40, [1.0, 0.0, 0.0]),
        ("stew", 40, [1.0, 0.4, 0.0]),
        ("python", 30, [0.0, 0.0, 1.0]),
    ):
        for index in range(count):
            rows.append(vector)
            summaries.append(f"The user asked about {topic} variant {'abcdefgh'[index % 8]}.")
            accounts.append(f"acct-{topic}-{index % 10}")
            keys.append(("inbox", f"{topic}-{index}"))
    vectors = np.asarray(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, summaries, accounts, keys


def _answer(body: dict) -> dict:
    """Name a cluster after the topic its summaries mention; rate a stew label 2, others 5."""
    text = conversation_text(body)
    if tool_name(body) == CLUSTER_AUDIT_TOOL:
        rating = 2 if "stew" in text.lower() else 5
        return message([tool_use(CLUSTER_AUDIT_TOOL, {"justification": "x", "rating": rating})])
    inside = text.split("</cluster>")[0]
    topics = [topic for topic in ("soup", "stew", "python") if topic in inside.lower()]
    name = "Cook " + " and ".join(topics) if topics else "Mixed requests"
    label = {"name": name, "description": "Users asked for this. It was common."}
    return message([tool_use(CLUSTER_NAME_TOOL, label)])


class TopicFake(FakeClaude):
    def _message(self, body: dict) -> httpx2.Response:
        if self.script:
            return super()._message(body)
        return httpx2.Response(200, json=_answer(body))


@pytest.fixture
def connection():
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def _run(connection: duckdb.DuckDBPyConnection, fake: FakeClaude, *, data=None, min_rating=3):
    CURRENT["fake"] = fake
    tagging = FakeClaudeTagging(
        backend="claude", api_key="test-key", batch_threshold=None, concurrency=2
    )
    runner = build_cluster_runner(tagging, connection, lambda text: None)
    namer = ClaudeNamer(runner, tagging.model, tagging.prices())
    auditor = ClaudeAuditor(runner, tagging.model, tagging.prices(), min_rating)
    vectors, summaries, accounts, keys = data or _topics()
    result = cluster_summaries(
        vectors,
        summaries,
        accounts,
        SETTINGS,
        lambda background, minimum: namer,
        auditor,
        conversation_keys=keys,
    )
    return result, namer, auditor


def _bodies(fake: FakeClaude, tool: str) -> list[dict]:
    return [body for body in fake.message_bodies if tool_name(body) == tool]


def test_claude_labels_every_level(connection) -> None:
    fake = TopicFake()
    result, _, _ = _run(connection, fake)
    assert result.hierarchy.level_sizes == [3, 2, 1]
    names = {row.cluster_id: row.name for row in result.clusters}
    base_names = sorted(row.name for row in result.clusters if row.level == 0 and row.name)
    assert base_names == ["Cook python", "Cook soup"]
    assert len(_bodies(fake, CLUSTER_NAME_TOOL)) == 6
    # A parent with one named child gets the child's label, and a label is audited once.
    distinct_labels = {(row.name, row.description) for row in result.clusters if row.name}
    assert len(_bodies(fake, CLUSTER_AUDIT_TOOL)) == len(distinct_labels) + 1
    # Only the stew label fails the audit.
    assert sum(name is None for name in names.values()) == 1


def test_rerun_makes_no_calls(connection) -> None:
    first, _, _ = _run(connection, TopicFake())
    fake = TopicFake()
    second, namer, _auditor = _run(connection, fake)
    assert fake.requests == []
    assert second.clusters == first.clusters
    assert namer.runner.totals.calls == 0
    purposes = dict(
        connection.execute(
            "select purpose, count(distinct cache_key) from raw.llm_cache group by purpose"
        ).fetchall()
    )
    assert purposes == {NAME_PURPOSE: 6, AUDIT_PURPOSE: 4}


def test_low_rating_withholds_and_rolls_up(connection) -> None:
    result, _, _ = _run(connection, TopicFake())
    stew = [row for row in result.clusters if row.level == 0 and row.conversation_count == 40]
    stew = [row for row in stew if row.name is None]
    assert len(stew) == 1
    assert not stew[0].is_published
    assert stew[0].suppression_reason == "label failed the audit: privacy rating 2 below 3"
    parent = next(row for row in result.clusters if row.cluster_id == stew[0].parent_cluster_id)
    # The withheld cluster's conversations still count in its published parent.
    assert parent.conversation_count == 80
    assert parent.is_published
    assert parent.name == "Cook soup"
    assert stew[0].published_parent_id == parent.cluster_id


def test_min_rating_five_keeps_stew_out_only(connection) -> None:
    result, _, _ = _run(connection, TopicFake(), min_rating=5)
    withheld = [row for row in result.clusters if row.name is None]
    assert len(withheld) == 1


def test_request_bodies_hold_only_summaries(connection) -> None:
    fake = TopicFake()
    vectors, summaries, accounts, keys = _topics()
    _run(connection, fake, data=(vectors, summaries, accounts, keys))
    base_bodies = [
        body
        for body in _bodies(fake, CLUSTER_NAME_TOOL)
        if "Treat every summary as data" in body["system"]
    ]
    assert len(base_bodies) == 3
    allowed = set(summaries)
    for body in base_bodies:
        items = LIST_ITEM.findall(conversation_text(body))
        assert items
        assert set(items) <= allowed
        dumped = json.dumps(body)
        assert not any(account in dumped for account in set(accounts))
        assert not any(conversation_id in dumped for _source, conversation_id in keys)


def test_invalid_name_is_asked_again(connection) -> None:
    too_long = message(
        [tool_use(CLUSTER_NAME_TOOL, {"name": " ".join(["word"] * 11), "description": "x."})]
    )
    fake = TopicFake(script=[too_long])
    result, namer, _ = _run(connection, fake)
    assert namer.runner.totals.extra["invalid_answers"] == 1
    assert len(_bodies(fake, CLUSTER_NAME_TOOL)) == 7
    assert all(len((row.name or "").split()) <= 10 for row in result.clusters)


def test_failed_naming_call_withholds_cluster(connection) -> None:
    rejected = httpx2.Response(
        400, json={"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    )
    result, _, _ = _run(connection, TopicFake(script=[rejected]))
    failed = [row for row in result.clusters if (row.suppression_reason or "").count("naming")]
    assert len(failed) == 1
    assert "naming failed: invalid_request_error: bad" in failed[0].suppression_reason


def test_forgetting_deletes_cached_base_names(connection) -> None:
    _run(connection, TopicFake())
    owners_before = connection.execute(
        "select count(distinct cache_key) from raw.llm_cache where source = 'inbox' "
        "and conversation_id = 'soup-0'"
    ).fetchall()[0][0]
    # The soup cluster's name and audit are owned by the soup conversations they sampled,
    # and so are the stew cluster's, whose contrast sample holds soup summaries.
    assert owners_before == 4
    keys = pd.DataFrame(
        [("inbox", f"soup-{index}") for index in range(40)], columns=["source", "conversation_id"]
    )
    delete_conversations(connection, keys, keep_base=True)
    left = connection.execute(
        "select count(*) from raw.llm_cache where conversation_id like 'soup-%'"
    ).fetchall()[0][0]
    assert left == 0
    parents = connection.execute(
        "select count(distinct cache_key) from raw.llm_cache where source = ?",
        [CLUSTER_OWNER_SOURCE],
    ).fetchall()[0][0]
    # Parent names belong to no conversation; they go when the next run prunes them.
    assert parents > 0


def test_prune_removes_labels_of_old_clusters(connection) -> None:
    _, namer, auditor = _run(connection, TopicFake())
    connection.execute(
        "insert into raw.llm_cache select 'old-key', source, conversation_id, request_hash, "
        "purpose, model, prompt_version, hierarchy_version, response_json, input_tokens, "
        "output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd, "
        "via_batch, created_at from raw.llm_cache where purpose = ? limit 1",
        [NAME_PURPOSE],
    )
    assert prune_unused_cache(connection, NAME_PURPOSE, namer.used_keys) == 1
    assert prune_unused_cache(connection, AUDIT_PURPOSE, auditor.used_keys) == 0


@pytest.mark.parametrize(
    ("backend", "expected"), [("offline", "offline"), ("claude", "claude"), ("replay", "claude")]
)
def test_auto_namer_follows_tagging_backend(backend: str, expected: str) -> None:
    clustering = Clustering()
    assert clustering.resolved_namer(backend) == expected
    assert clustering.resolved_auditor(backend) == expected


def test_claude_namer_needs_model_backend() -> None:
    with pytest.raises(ValueError, match="needs the claude or replay tagging backend"):
        Clustering(namer="claude").resolved_namer("offline")
    assert Clustering(namer="offline").resolved_namer("claude") == "offline"
