"""Grouped requests of the Claude backend against a fake API: counts, gaps, cache, forgetting."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.defs.conversations.lineage import delete_conversations
from orchestration.defs.conversations.load import ensure_tables
from orchestration.defs.llm.cache import lookup_by_request_hash
from orchestration.defs.tagging.records import ensure_tag_table
from tests.fake_claude import (
    FakeClaude,
    conversations,
    default_answer,
    is_task_call,
    message,
    seed_reference,
    task_items,
    task_list_text,
    tool_use,
)
from tests.test_claude_backend import CHAT, WORK, add_conversations, resource, run_tagging, tags

FIVE = {
    "a1": WORK,
    "a2": WORK + " Keep the extension.",
    "b1": CHAT,
    "a3": WORK + " Add a dry-run flag.",
    "b2": CHAT + " again",
}


@pytest.fixture
def connection(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(connection)
    ensure_tag_table(connection)
    seed_reference(connection)
    yield connection
    connection.close()


def without_index(index: int):
    """Return a script step: the default screen answer with one index left out."""

    def step(body: dict) -> dict:
        answer = default_answer(body)
        entries = answer["content"][0]["input"]["conversations"]
        remaining = [entry for entry in entries if entry["index"] != index]
        return message([tool_use("record_screen", {"conversations": remaining})])

    return step


def screen_sizes(fake: FakeClaude) -> list[int]:
    return [len(conversations(body)) for body in fake.message_bodies if not is_task_call(body)]


def task_sizes(fake: FakeClaude) -> list[int]:
    return [len(task_items(body)) for body in fake.message_bodies if is_task_call(body)]


def menu_in_second_group(body: dict) -> dict:
    """Respond as default_answer, but place conversations about menus in the second middle group."""
    answer = default_answer(body)
    if is_task_call(body):
        return answer
    middles = body["tools"][0]["input_schema"]["properties"]["conversations"]["items"][
        "properties"
    ]["middle_group"]["enum"]
    texts = conversations(body)
    for entry in answer["content"][0]["input"]["conversations"]:
        if "menu" in texts[entry["index"]]:
            entry["middle_group"] = middles[1]
    return answer


def test_groups_bound_request_count(connection) -> None:
    add_conversations(connection, FIVE)
    fake = FakeClaude()
    tagger = run_tagging(connection, resource(group_size=2), fake)
    # Groups in key order: (a1, a2), (a3, b1), (b2). The three work conversations share
    # one middle group, and call 2 packs them by group_size too: (a1, a2), (a3).
    assert screen_sizes(fake) == [2, 2, 1]
    assert task_sizes(fake) == [2, 1]
    assert len(fake.message_bodies) == 5
    assert tagger.usage_metadata()["llm_calls"] == 5
    stored = tags(connection)
    assert {key: row[0] for key, row in stored.items()} == dict.fromkeys(FIVE, "tagged")
    assert [stored[key][2] for key in ("a1", "a2", "a3")] == [101, 101, 101]
    assert [stored[key][1] for key in ("b1", "b2")] == [False, False]


def test_task_request_spans_screen_groups(connection) -> None:
    # Work and chat alternate in key order, so each screen request contains some of each.
    spread = {
        "c1": WORK,
        "c2": CHAT,
        "c3": WORK + " Keep the extension.",
        "c4": CHAT + " again",
        "c5": WORK + " Add a dry-run flag.",
    }
    add_conversations(connection, spread)
    fake = FakeClaude()
    tagger = run_tagging(connection, resource(group_size=3), fake)
    # Screens (c1, c2, c3) and (c4, c5); one task request for c1, c3 and c5 together.
    assert screen_sizes(fake) == [3, 2]
    assert task_sizes(fake) == [3]
    assert len(fake.message_bodies) == 3
    assert tagger.usage_metadata()["llm_calls"] == 3
    summaries = {key: row[5] for key, row in tags(connection).items()}
    [task] = [body for body in fake.message_bodies if is_task_call(body)]
    assert task_items(task) == {1: summaries["c1"], 2: summaries["c3"], 3: summaries["c5"]}
    assert [tags(connection)[key][2] for key in ("c1", "c3", "c5")] == [101, 101, 101]


def test_task_requests_split_by_middle_group(connection) -> None:
    add_conversations(
        connection,
        {
            "a1": WORK,
            "m1": "Plan a weekly menu for a small cafe.",
            "a2": WORK + " Keep the extension.",
            "m2": "Plan a menu for a school canteen.",
            "b1": CHAT,
        },
    )
    fake = FakeClaude([menu_in_second_group])
    run_tagging(connection, resource(), fake)

    screen, *task_requests = fake.message_bodies
    assert len(conversations(screen)) == 5
    assert len(task_requests) == 2
    lists = {}
    for body in task_requests:
        ids = body["tools"][0]["input_schema"]["properties"]["tasks"]["items"]["properties"][
            "task_id"
        ]["enum"]
        lists[tuple(ids)] = (task_list_text(body), sorted(task_items(body).values()))

    summaries = {key: row[5] for key, row in tags(connection).items()}
    programming, menus = lists[(101, 102)], lists[(401,)]
    assert programming[0].startswith("Middle group: Programming\nTasks:\n- [101]")
    assert "[401]" not in programming[0]
    assert programming[1] == sorted([summaries["a1"], summaries["a2"]])
    assert menus[0] == "Middle group: Menu planning\nTasks:\n- [401] Plan menus and recipes"
    assert menus[1] == sorted([summaries["m1"], summaries["m2"]])
    stored = tags(connection)
    assert [stored[key][2] for key in ("a1", "a2", "m1", "m2", "b1")] == [101, 101, 401, 401, None]


def test_identical_summaries_share_slot(connection) -> None:
    add_conversations(connection, {"a1": WORK, "a2": WORK + " Keep the extension."})

    def same_summary(body: dict) -> dict:
        answer = default_answer(body)
        for entry in answer["content"][0]["input"]["conversations"]:
            entry["summary"] = "The user asked for a script that renames files."
        return answer

    fake = FakeClaude([same_summary])
    run_tagging(connection, resource(), fake)
    # One middle group and one summary: the task request carries it once for both.
    assert task_sizes(fake) == [1]
    rows = connection.execute(
        "select conversation_id, cache_key from raw.llm_cache "
        "where purpose = 'tag_task' order by conversation_id"
    ).fetchall()
    assert [row[0] for row in rows] == ["a1", "a2"]
    assert rows[0][1] == rows[1][1]
    assert [tags(connection)[key][2] for key in ("a1", "a2")] == [101, 101]


def test_missing_answer_retried_alone(connection) -> None:
    add_conversations(connection, {"a1": WORK, "a2": WORK + " Keep the extension."})
    fake = FakeClaude([without_index(2)])
    tagger = run_tagging(connection, resource(), fake)
    # Screen for both (index 2 missing), screen for a2 alone, then one task request for
    # both, since they share a middle group.
    assert screen_sizes(fake) == [2, 1]
    assert task_sizes(fake) == [2]
    assert len(fake.message_bodies) == 3
    assert [tags(connection)[key][0] for key in ("a1", "a2")] == ["tagged", "tagged"]
    assert tagger.usage_metadata()["invalid_answers"] == 1


def test_missing_answer_twice_fails(connection) -> None:
    add_conversations(connection, {"a1": WORK, "b1": CHAT})
    fake = FakeClaude([without_index(2), without_index(1)])
    run_tagging(connection, resource(), fake)
    stored = tags(connection)
    assert stored["a1"][0] == "tagged"
    assert stored["b1"][0] == "failed"
    assert "no entry for conversation index 1" in stored["b1"][-1]
    assert screen_sizes(fake) == [2, 1]


def test_grouped_rerun_makes_no_calls(connection) -> None:
    add_conversations(connection, FIVE)
    run_tagging(connection, resource(group_size=2), FakeClaude())
    connection.execute("delete from raw.conversation_tags")
    again = FakeClaude()
    tagger = run_tagging(connection, resource(group_size=3), again)
    assert again.requests == []
    # Five screens and three tasks, each answered from its own cache row.
    assert tagger.usage_metadata()["llm_cache_hits"] == 8
    assert {row[0] for row in tags(connection).values()} == {"tagged"}


def test_cache_row_holds_own_slice(connection) -> None:
    add_conversations(connection, {"a1": WORK, "b1": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    rows = connection.execute(
        """
        select conversation_id, response_json, input_tokens, cache_creation_input_tokens
        from raw.llm_cache where purpose = 'tag_screen' order by conversation_id
        """
    ).fetchall()
    assert [row[0] for row in rows] == ["a1", "b1"]
    for conversation_id, response_json, *_ in rows:
        [block] = json.loads(response_json)["content"]
        [entry] = block["input"]["conversations"]
        assert entry["is_occupational"] is (conversation_id == "a1")
    # The fake bills 100 input and 2,000 cache-write tokens per request, split in halves.
    assert [row[2:] for row in rows] == [(50, 1000), (50, 1000)]


def test_slices_merge_for_replay(connection) -> None:
    add_conversations(connection, {"a1": WORK, "b1": CHAT})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    [request_hash] = connection.execute(
        "select distinct request_hash from raw.llm_cache where purpose = 'tag_screen'"
    ).fetchone()
    merged = lookup_by_request_hash(connection, request_hash)
    entries = merged["content"][0]["input"]["conversations"]
    assert [entry["index"] for entry in entries] == [1, 2]
    assert merged["usage"]["cache_creation_input_tokens"] == 2000


def test_forgetting_leaves_no_slice_behind(connection) -> None:
    add_conversations(connection, {"a1": WORK, "b1": CHAT})
    run_tagging(connection, resource(), FakeClaude())
    keys = pd.DataFrame({"source": ["s"], "conversation_id": ["b1"]})
    deleted = delete_conversations(connection, keys)
    assert deleted["llm_cache"] == 1
    left = connection.execute("select response_json from raw.llm_cache").fetchall()
    assert len(left) == 2
    for (response_json,) in left:
        for block in json.loads(response_json)["content"]:
            for entry in next(iter(block["input"].values())):
                assert entry["index"] == 1


def test_task_missing_answer_retried_alone(connection) -> None:
    add_conversations(connection, {"a1": WORK, "a2": WORK + " Keep the extension."})

    def task_without_second(body: dict) -> dict:
        entries = default_answer(body)["content"][0]["input"]["tasks"]
        return message([tool_use("record_tasks", {"tasks": entries[:1]})])

    fake = FakeClaude([default_answer, task_without_second])
    tagger = run_tagging(connection, resource(), fake)
    assert screen_sizes(fake) == [2]
    assert task_sizes(fake) == [2, 1]
    assert [tags(connection)[key][2] for key in ("a1", "a2")] == [101, 101]
    assert tagger.usage_metadata()["invalid_answers"] == 1


def test_forgetting_one_of_shared_task_request(connection) -> None:
    add_conversations(connection, {"a1": WORK, "a2": WORK + " Keep the extension."})
    fake = FakeClaude()
    run_tagging(connection, resource(), fake)
    assert task_sizes(fake) == [2]
    keys = pd.DataFrame({"source": ["s"], "conversation_id": ["a1"]})
    deleted = delete_conversations(connection, keys)
    assert deleted["llm_cache"] == 2
    [(response_json,)] = connection.execute(
        "select response_json from raw.llm_cache where purpose = 'tag_task'"
    ).fetchall()
    [block] = json.loads(response_json)["content"]
    assert [entry["index"] for entry in block["input"]["tasks"]] == [2]
    # The remaining conversation still gets its task from the cache, with no call.
    connection.execute("delete from raw.conversation_tags")
    again = FakeClaude()
    run_tagging(connection, resource(), again)
    assert again.requests == []
    assert tags(connection)["a2"][:3] == ("tagged", True, 101)


def test_grouped_batch_stores_slices(connection) -> None:
    add_conversations(connection, FIVE)
    fake = FakeClaude()
    run_tagging(connection, resource(group_size=2, batch_threshold=2), fake)
    assert fake.message_bodies == []
    # Three screen requests in one batch, then two task requests in another.
    assert [len(batch["requests"]) for batch in fake.batches.values()] == [3, 2]
    indexes = connection.execute(
        "select count(*) from raw.llm_batch_items where item_index is null or answer_key is null"
    ).fetchone()[0]
    assert indexes == 0
    rows = connection.execute(
        "select count(*), count(distinct cache_key), bool_and(via_batch) from raw.llm_cache"
    ).fetchone()
    assert rows == (8, 8, True)
    assert {row[0] for row in tags(connection).values()} == {"tagged"}
