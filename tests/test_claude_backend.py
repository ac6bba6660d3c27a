"""The Claude tagging backend against a fake API: calls, retries, batches, cache, budget."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx2
import pytest

from orchestration.defs.conversations.lineage import conversation_tables
from orchestration.defs.conversations.load import ensure_tables
from orchestration.defs.llm.client import canonical_json
from orchestration.defs.tagging.assets import untagged_batches, write_tags
from orchestration.defs.tagging.hierarchy import MissingReferenceTable
from orchestration.defs.tagging.records import ensure_tag_table
from orchestration.defs.tagging.resource import Tagging
from tests.fake_claude import (
    CURRENT,
    FakeClaude,
    FakeClaudeTagging,
    conversation_text,
    default_answer,
    error,
    errored,
    message,
    seed_reference,
    succeeded,
    summary_for,
    task_items,
    task_list_text,
    tool_use,
)

WORK = "Write a Python script that renames files."
CHAT = "hello there, how are you?"


@pytest.fixture
def connection(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(connection)
    ensure_tag_table(connection)
    seed_reference(connection)
    yield connection
    connection.close()


def add_conversations(connection: duckdb.DuckDBPyConnection, texts: dict[str, str]) -> None:
    for conversation_id, text in texts.items():
        connection.execute(
            "insert into raw.conversations (source, conversation_id) values ('s', ?)",
            [conversation_id],
        )
        connection.execute(
            "insert into raw.messages values ('s', ?, 0, 'user', ?)", [conversation_id, text]
        )
        connection.execute(
            "insert into raw.messages values ('s', ?, 1, 'assistant', 'Sure.')", [conversation_id]
        )


def resource(**overrides) -> Tagging:
    settings = {
        "backend": "claude",
        "api_key": "test-key",
        "concurrency": 1,
        "batch_threshold": None,
        "max_retries": 2,
        "max_retry_after_seconds": 0.5,
        "batch_poll_seconds": 0,
    }
    settings.update(overrides)
    return FakeClaudeTagging(**settings)


def run_tagging(connection, tagging: Tagging, fake: FakeClaude):
    """Tag every untagged conversation as the asset does; return the tagger."""
    CURRENT["fake"] = fake
    tagger = tagging.build_tagger(connection)
    for batch in untagged_batches(
        connection, tagger.backend, tagger.model, tagger.prompt_version, tagging.batch_size
    ):
        write_tags(connection, tagger.tag(batch))
    return tagger


def tags(connection) -> dict[str, tuple]:
    rows = connection.execute(
        """
        select conversation_id, status, is_occupational, task_id, interaction_mode,
            language, summary, trimmed, status_reason
        from raw.conversation_tags
        order by conversation_id
        """
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_normal_run_stores_records(connection) -> None:
    add_conversations(connection, {"a": WORK, "b": CHAT})
    fake = FakeClaude()
    tagger = run_tagging(connection, resource(), fake)
    stored = tags(connection)
    summary = summary_for(f"\n<user>\n{WORK}\n</user>\n<assistant>\nSure.\n</assistant>\n")
    assert stored["a"][:7] == ("tagged", True, 101, "directive", "en", summary, False)
    assert stored["b"][:3] == ("tagged", False, None)
    # One screen request for both, one task request for a.
    assert len(fake.message_bodies) == 2
    skills = connection.execute("select conversation_id, skill_id from raw.conversation_skills")
    assert sorted(skills.fetchall()) == [("a", "2.A.1.a"), ("b", "2.A.1.a")]
    usage = tagger.usage_metadata()
    assert usage["llm_calls"] == 2
    assert usage["cache_creation_input_tokens"] == 4000
    assert usage["cost_usd"] == pytest.approx(2 * (100 * 1 + 50 * 5 + 2000 * 1.25 + 1000 * 0.1) / 1e6)


def test_screen_call_caches_prefix_only(connection) -> None:
    add_conversations(connection, {"a": WORK})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    screen = fake.message_bodies[0]
    assert screen["system"][0]["cache_control"] == {"type": "ephemeral"}
    [block] = screen["messages"][0]["content"]
    # The conversations are billed once at the input price, not written to the cache.
    assert "cache_control" not in block
    assert [tool["name"] for tool in screen["tools"]] == ["record_screen"]
    assert screen["tool_choice"] == {"type": "tool", "name": "record_screen"}


def test_task_call_sends_summary_and_list(connection) -> None:
    add_conversations(connection, {"a": WORK})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    screen, task = fake.message_bodies
    [tool] = task["tools"]
    assert tool["name"] == "record_tasks"
    assert tool["strict"] is True
    task_id = tool["input_schema"]["properties"]["tasks"]["items"]["properties"]["task_id"]
    assert task_id["enum"] == [101, 102]
    assert task["tool_choice"] == {"type": "tool", "name": "record_tasks"}
    assert task["system"] != screen["system"]
    listing, items = task["messages"][0]["content"]
    assert listing["cache_control"] == {"type": "ephemeral"}
    assert "- [101] Write, update" in task_list_text(task)
    assert "- [401]" not in task_list_text(task)
    assert "cache_control" not in items
    assert task_items(task) == {1: tags(connection)["a"][5]}
    assert WORK not in canonical_json(task)


def test_task_call_can_send_conversation(connection) -> None:
    add_conversations(connection, {"a": WORK})
    fake = FakeClaude()
    run_tagging(connection, resource(task_input="conversation"), fake)
    _, task = fake.message_bodies
    assert '<conversation index="n">' in task["system"][0]["text"]
    assert "<summary" not in conversation_text(task)
    assert list(task_items(task)) == [1]
    assert WORK in task_items(task)[1]
    assert tags(connection)["a"][2] == 101


def test_task_input_change_resends_tasks(connection) -> None:
    add_conversations(connection, {"a": WORK, "b": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    connection.execute("delete from raw.conversation_tags")
    again = FakeClaude()
    tagger = run_tagging(connection, resource(task_input="conversation"), again)
    # Both screens come from the cache, but the stored task response was keyed by the summary.
    assert [body["tools"][0]["name"] for body in again.message_bodies] == ["record_tasks"]
    assert tagger.usage_metadata()["llm_cache_hits"] == 2


def test_page_size_default_per_backend() -> None:
    assert Tagging().batch_size == 500
    assert Tagging(backend="claude", api_key="k").batch_size == 2000
    assert Tagging(backend="replay").batch_size == 2000
    assert Tagging(backend="claude", api_key="k", batch_size=300).batch_size == 300


def test_page_size_below_one_rejected() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        Tagging(backend="claude", api_key="k", batch_size=0)


def test_unknown_task_input_rejected() -> None:
    with pytest.raises(ValueError, match="task_input must be one of summary, conversation"):
        resource(task_input="transcript")


def test_rerun_makes_no_calls(connection) -> None:
    add_conversations(connection, {"a": WORK, "b": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    connection.execute("delete from raw.conversation_tags")
    again = FakeClaude()
    tagger = run_tagging(connection, resource(), again)
    assert again.requests == []
    assert tagger.usage_metadata()["llm_cache_hits"] == 3
    assert tags(connection)["a"][2] == 101


def test_cache_rows_carry_conversation(connection) -> None:
    add_conversations(connection, {"a": WORK})
    run_tagging(connection, resource(), FakeClaude())
    rows = connection.execute(
        "select source, conversation_id, purpose from raw.llm_cache order by purpose"
    ).fetchall()
    assert rows == [("s", "a", "tag_screen"), ("s", "a", "tag_task")]
    assert {"llm_cache", "llm_batch_items"} <= set(conversation_tables(connection))


def test_rate_limit_requeues_item(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    limited = error(429, "rate_limit_error", "slow down", {"retry-after-ms": "1"})
    fake = FakeClaude([limited, limited, limited])
    tagger = run_tagging(connection, resource(max_retries=2), fake)
    # Three attempts by the SDK (max_retries=2), then one after re-queueing.
    assert len(fake.message_bodies) == 4
    assert tags(connection)["b"][0] == "tagged"
    assert tagger.usage_metadata()["requeued"] == 1


def test_overloaded_529_is_retried(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    overloaded = error(529, "overloaded_error", "overloaded", {"retry-after-ms": "1"})
    fake = FakeClaude([overloaded])
    run_tagging(connection, resource(max_retries=1), fake)
    assert len(fake.message_bodies) == 2
    assert tags(connection)["b"][0] == "tagged"


def test_long_retry_after_defers_item(connection) -> None:
    add_conversations(connection, {"a": WORK, "b": CHAT})
    long_wait = error(429, "rate_limit_error", "slow down", {"retry-after": "120"})
    fake = FakeClaude([long_wait])
    tagger = run_tagging(connection, resource(max_retry_after_seconds=0.5, group_size=1), fake)
    stored = tags(connection)
    # a waits 120 s, above the 0.5 s cap: no sleep, no record, left for the next run.
    assert "a" not in stored
    assert stored["b"][0] == "tagged"
    assert len(fake.message_bodies) == 2
    assert tagger.usage_metadata()["deferred_throttled"] == 1
    later = FakeClaude()
    run_tagging(connection, resource(), later)
    assert tags(connection)["a"][0] == "tagged"


def test_max_tokens_cutoff_fails_after_retry(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    cut = message([{"type": "text", "text": "partial"}], stop_reason="max_tokens")
    fake = FakeClaude([cut, cut])
    run_tagging(connection, resource(), fake)
    status, occupational, task_id, mode, *_, reason = tags(connection)["b"]
    assert (status, occupational, task_id, mode) == ("failed", False, None, "none")
    assert "max_tokens" in reason
    assert len(fake.message_bodies) == 2


def test_max_tokens_cutoff_then_valid(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    cut = message([{"type": "text", "text": "partial"}], stop_reason="max_tokens")
    fake = FakeClaude([cut])
    run_tagging(connection, resource(), fake)
    assert tags(connection)["b"][0] == "tagged"
    assert len(fake.message_bodies) == 2


def test_invalid_tool_input_fails(connection) -> None:
    add_conversations(connection, {"b": CHAT})

    def bad_mode(body: dict) -> dict:
        [entry] = default_answer(body)["content"][0]["input"]["conversations"]
        entries = [{**entry, "interaction_mode": "bossy"}]
        return message([tool_use("record_screen", {"conversations": entries})])

    fake = FakeClaude([bad_mode, bad_mode])
    tagger = run_tagging(connection, resource(), fake)
    stored = tags(connection)["b"]
    assert stored[0] == "failed"
    assert "interaction_mode 'bossy'" in stored[-1]
    assert len(fake.message_bodies) == 2
    assert tagger.usage_metadata()["invalid_answers"] == 2


def test_task_outside_offer_fails(connection) -> None:
    add_conversations(connection, {"a": WORK})
    wrong = message([tool_use("record_tasks", {"tasks": [{"index": 1, "task_id": 401}]})])
    fake = FakeClaude([default_answer, wrong, wrong])
    run_tagging(connection, resource(), fake)
    stored = tags(connection)["a"]
    assert stored[0] == "failed"
    assert "not one of the offered tasks" in stored[-1]
    assert len(fake.message_bodies) == 3


def test_prompt_too_long_trims(connection) -> None:
    long_text = "first request " + "word " * 4000 + " final words"
    add_conversations(connection, {"b": "hello " + long_text})
    too_long = error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000")
    fake = FakeClaude([too_long])
    run_tagging(connection, resource(), fake)
    first, second = fake.message_bodies
    stored = tags(connection)["b"]
    assert stored[0] == "tagged"
    assert stored[6] is True
    sent = second["messages"][0]["content"][0]["text"]
    assert len(sent) < len(first["messages"][0]["content"][0]["text"])
    assert sent.startswith('<conversation index="1">\n<user>\nhello first request')
    assert "Sure." in sent


def test_prompt_too_long_twice_fails(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    too_long = error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000")
    fake = FakeClaude([too_long, too_long])
    run_tagging(connection, resource(), fake)
    stored = tags(connection)["b"]
    assert stored[0] == "failed"
    assert stored[6] is True
    assert "prompt is too long" in stored[-1]
    assert len(fake.message_bodies) == 2


def test_long_conversation_trimmed_before_sending(connection) -> None:
    connection.execute("insert into raw.conversations (source, conversation_id) values ('s', 'b')")
    turns = ["hello, first request " + "x" * 30_000] + [f"turn{index} " * 500 for index in range(1, 50)]
    for index, text in enumerate(turns):
        connection.execute(
            "insert into raw.messages values ('s', 'b', ?, 'user', ?)", [2 * index, text]
        )
        connection.execute(
            "insert into raw.messages values ('s', 'b', ?, 'assistant', 'Sure.')", [2 * index + 1]
        )
    fake = FakeClaude()
    run_tagging(connection, resource(context_window_tokens=30_000, max_tokens=1000), fake)
    sent = conversation_text(fake.message_bodies[0])
    assert tags(connection)["b"][6] is True
    assert sent.startswith('<conversation index="1">\n<user>\nhello, first request')
    assert "turn49" in sent
    assert "turn2 " not in sent
    assert "<omitted_turns" in sent


def test_budget_stops_before_exceeding(connection) -> None:
    add_conversations(connection, {"b1": CHAT, "b2": CHAT + " again", "b3": CHAT + " more"})
    fake = FakeClaude()
    # A call is estimated at about $0.006 (1,024 output tokens at most) and billed $0.00295
    # by the fake's usage, so the second estimate no longer fits in $0.008.
    tagger = run_tagging(connection, resource(budget_usd=0.008, group_size=1), fake)
    stored = tags(connection)
    assert len(stored) == 1
    assert len(fake.message_bodies) == 1
    assert tagger.exhausted
    assert tagger.usage_metadata()["deferred_budget"] == 2


def test_batch_mixed_results(connection) -> None:
    add_conversations(connection, {"b1": CHAT, "b2": CHAT + "2", "b3": CHAT + "3", "b4": CHAT + "4"})

    def results(custom_id: str, params: dict, batch_number: int) -> dict:
        text = conversation_text(params)
        if "you?2" in text and batch_number == 0:
            return errored("api_error", "internal")
        if "you?3" in text and batch_number == 0:
            return {"type": "expired"}
        if "you?4" in text:
            return errored("invalid_request_error", "bad request")
        return succeeded(params)

    fake = FakeClaude(batch_results=results, polls_before_end=1)
    run_tagging(connection, resource(batch_threshold=2, group_size=1), fake)
    stored = tags(connection)
    assert [stored[key][0] for key in ("b1", "b2", "b3", "b4")] == [
        "tagged", "tagged", "tagged", "failed"
    ]
    assert "bad request" in stored["b4"][-1]
    assert fake.message_bodies == []
    # Batch 1 (4 requests) and batch 2 (the errored and the expired one).
    assert fake.count("POST", "/v1/messages/batches") == 2
    assert [len(batch["requests"]) for batch in fake.batches.values()] == [4, 2]
    # Per batch: two polls (one in progress, one ended), then retrieve + results.
    assert fake.count("GET", "/v1/messages/batches") == 2 * 4
    item_states = connection.execute(
        "select batch_id, state, error_json is not null from raw.llm_batch_items order by 1, 2"
    ).fetchall()
    assert sorted(item_states) == [
        ("msgbatch_001", "errored", True),
        ("msgbatch_001", "errored", True),
        ("msgbatch_001", "expired", True),
        ("msgbatch_001", "succeeded", False),
        ("msgbatch_002", "succeeded", False),
        ("msgbatch_002", "succeeded", False),
    ]
    statuses = connection.execute("select status from raw.llm_batches").fetchall()
    assert statuses == [("ended",), ("ended",)]


class StopRun(Exception):
    """Raised from the poll sleep to stand for a process that stops mid-batch."""


def test_stopped_batch_resumes_without_resubmitting(connection) -> None:
    add_conversations(connection, {"b1": CHAT, "b2": CHAT + "2"})
    first = FakeClaude(polls_before_end=100)
    CURRENT["fake"] = first
    tagging = resource(batch_threshold=2, group_size=1)
    tagger = tagging.build_tagger(connection)

    def stop(seconds: float) -> None:
        raise StopRun

    tagger.runner.sleep = stop
    [batch] = list(untagged_batches(connection, "claude", tagger.model, tagger.prompt_version, 10))
    with pytest.raises(StopRun):
        tagger.tag(batch)
    assert connection.execute("select batch_id, status from raw.llm_batches").fetchall() == [
        ("msgbatch_001", "in_progress")
    ]

    restarted = FakeClaude(batches=first.batches)
    run_tagging(connection, tagging, restarted)
    assert restarted.count("POST", "/v1/messages/batches") == 0
    assert restarted.message_bodies == []
    assert [tags(connection)[key][0] for key in ("b1", "b2")] == ["tagged", "tagged"]
    assert connection.execute("select status from raw.llm_batches").fetchall() == [("ended",)]


def test_claude_without_key_rejected() -> None:
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        Tagging(backend="claude")


def test_max_tokens_above_nonstreaming_rejected() -> None:
    with pytest.raises(ValueError, match="without streaming"):
        Tagging(backend="claude", api_key="k", max_tokens=30_000)


def test_unknown_backend_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tagging backend"):
        Tagging(backend="gpt")


def test_missing_hierarchy_is_clear(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(MissingReferenceTable, match="raw.task_hierarchy is missing"):
        resource().build_tagger(connection)
    connection.close()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "offline"),
        ({"ANTHROPIC_API_KEY": "k"}, "claude"),
        ({"ANTHROPIC_API_KEY": "k", "TAGGING_BACKEND": "offline"}, "offline"),
        ({"TAGGING_BACKEND": "replay"}, "replay"),
    ],
)
def test_backend_chosen_from_environment(monkeypatch, environment, expected) -> None:
    from orchestration.definitions import build_tagging

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert build_tagging().backend == expected


def test_replay_unknown_request_fails_item(connection, tmp_path: Path) -> None:
    add_conversations(connection, {"b": CHAT})
    recordings = tmp_path / "empty.jsonl"
    recordings.write_text("")
    tagging = Tagging(backend="replay", replay_dir=str(recordings), concurrency=1)
    run_tagging(connection, tagging, FakeClaude())
    stored = tags(connection)["b"]
    assert stored[0] == "failed"
    assert "no recorded response" in stored[-1]


def test_replay_answers_from_export(connection, tmp_path: Path) -> None:
    from orchestration.defs.tagging.replay import export_exchanges

    add_conversations(connection, {"a": WORK, "b": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    claude_tags = tags(connection)
    recordings = tmp_path / "exchanges.jsonl"
    # One screen request for both conversations and one task request.
    assert export_exchanges(connection, recordings) == 2
    assert WORK not in recordings.read_text()
    connection.execute("delete from raw.llm_cache")
    tagging = Tagging(backend="replay", replay_dir=str(recordings), concurrency=1)
    run_tagging(connection, tagging, FakeClaude())
    replayed = connection.execute(
        "select conversation_id, status, task_id from raw.conversation_tags "
        "where backend = 'replay' order by 1"
    ).fetchall()
    assert replayed == [("a", "tagged", claude_tags["a"][2]), ("b", "tagged", None)]


def test_replay_answers_from_cache(connection) -> None:
    add_conversations(connection, {"a": WORK})
    run_tagging(connection, resource(), FakeClaude())
    run_tagging(connection, Tagging(backend="replay", concurrency=1), FakeClaude())
    replayed = connection.execute(
        "select status, task_id from raw.conversation_tags where backend = 'replay'"
    ).fetchall()
    assert replayed == [("tagged", 101)]


def test_mock_transport_sees_no_unscrubbed_fields(connection) -> None:
    # The client sends exactly the body the tagger built: only model-facing fields.
    add_conversations(connection, {"b": CHAT})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    [body] = fake.message_bodies
    assert set(body) == {"model", "max_tokens", "tools", "tool_choice", "system", "messages"}
    assert isinstance(httpx2.Client, type)


def test_response_without_tool_call_fails(connection) -> None:
    add_conversations(connection, {"b": CHAT})
    text_only = message([{"type": "text", "text": "It is a greeting."}], stop_reason="end_turn")
    fake = FakeClaude([text_only, text_only])
    run_tagging(connection, resource(), fake)
    stored = tags(connection)["b"]
    assert stored[0] == "failed"
    assert "no record_screen tool call" in stored[-1]
    assert len(fake.message_bodies) == 2


def test_forgetting_deletes_cache_rows(connection) -> None:
    import pandas as pd

    from orchestration.defs.conversations.lineage import delete_conversations

    add_conversations(connection, {"a": WORK, "b": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    keys = pd.DataFrame({"source": ["s"], "conversation_id": ["a"]})
    deleted = delete_conversations(connection, keys)
    assert deleted["llm_cache"] == 2
    left = connection.execute("select distinct conversation_id from raw.llm_cache").fetchall()
    assert left == [("b",)]


def test_identical_texts_share_one_call(connection) -> None:
    add_conversations(connection, {"b1": CHAT, "b2": CHAT})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    assert len(fake.message_bodies) == 1
    rows = connection.execute(
        "select conversation_id from raw.llm_cache order by conversation_id"
    ).fetchall()
    assert rows == [("b1",), ("b2",)]
    assert [tags(connection)[key][0] for key in ("b1", "b2")] == ["tagged", "tagged"]
