"""Tests for reading each conversation export format, and the rejects of broken ones."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestration.defs.conversations.parse import (
    Conversation,
    Message,
    Rejected,
    read_conversations,
)

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
SAMPLES = Path(__file__).parent.parent / "samples" / "exports"
PREFIX = "fixture"

Turns = tuple[tuple[str, str], ...]


def read_items(path: Path, prefix: str = PREFIX, **options: bool) -> list:
    return list(read_conversations(path, "test", prefix, **options))


def read_fixture(name: str) -> list:
    return read_items(EXPORTS / name)


def conversations(items: list) -> dict[str, Turns]:
    """Map each conversation id to its (role, content) pairs, in file order."""
    found = {}
    for item in items:
        if isinstance(item, Conversation):
            turns = tuple((message.role, message.content) for message in item.messages)
            found[item.conversation_id] = turns
    return found


def in_order(mapping: dict[str, Turns]) -> list[tuple[str, Turns]]:
    """Return the items of a mapping as a list, so that comparing also checks order."""
    return list(mapping.items())


def rejections(items: list) -> list[tuple[int, str]]:
    rejects = [item for item in items if isinstance(item, Rejected)]
    return [(item.record_index, item.reason) for item in rejects]


def by_id(items: list, conversation_id: str) -> Conversation:
    [conversation] = [
        item
        for item in items
        if isinstance(item, Conversation) and item.conversation_id == conversation_id
    ]
    return conversation


def expected_content_id(prefix: str, turns: Turns) -> str:
    canonical = json.dumps(
        [list(turn) for turn in turns], ensure_ascii=False, separators=(",", ":")
    )
    return f"{prefix}:sha1-" + hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def write_jsonl(path: Path, values: list) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in values), encoding="utf-8")
    return path


# Claude.ai

CLAUDE_SOURDOUGH: Turns = (
    ("user", "My sourdough starter smells like nail polish. Is it ruined?"),
    (
        "assistant",
        (
            "It is hungry, not ruined.\n[tool call: web_search]\n"
            "Underfed starters smell of acetone.\n[image]"
        ),
    ),
    ("user", "Here is my feeding log.\n\nFed at 8am with 50 g flour.\n\n[image]"),
    ("assistant", "Feed it twice a day for three days."),
)
CLAUDE_HALLWAY: Turns = (
    ("user", "Which houseplants survive a dark hallway?"),
    ("assistant", "A snake plant or a ZZ plant."),
)
CLAUDE_CONVERSATIONS = {
    "claude-sourdough": CLAUDE_SOURDOUGH,
    expected_content_id(PREFIX, CLAUDE_HALLWAY): CLAUDE_HALLWAY,
}


def test_claude_export_read_exactly():
    items = read_fixture("claude_conversations.json")
    assert in_order(conversations(items)) == in_order(CLAUDE_CONVERSATIONS)
    assert rejections(items) == []


def test_claude_zip_export_read_exactly():
    items = read_fixture("claude_export.zip")
    assert in_order(conversations(items)) == in_order(CLAUDE_CONVERSATIONS)
    assert rejections(items) == []


def test_claude_account_and_times_parsed():
    conversation = by_id(read_fixture("claude_conversations.json"), "claude-sourdough")
    assert conversation.account_id == "account-7"
    assert conversation.created_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert conversation.updated_at == datetime(2024, 5, 1, 9, 5, tzinfo=UTC)


def test_claude_naive_times_taken_as_utc():
    [_, conversation] = read_fixture("claude_conversations.json")
    assert conversation.created_at == datetime(2024, 6, 2, 18, 30, tzinfo=UTC)
    assert conversation.updated_at == datetime(2024, 6, 2, 18, 31, tzinfo=UTC)


def claude_record(*blocks: dict) -> dict:
    return {
        "uuid": "blocks",
        "chat_messages": [
            {"sender": "human", "text": "Read this aloud.", "content": []},
            {"sender": "assistant", "text": "", "content": list(blocks)},
        ],
    }


def test_claude_unknown_block_warns_once(tmp_path: Path, caplog):
    voice = {"type": "voice_note", "title": "memo"}
    record = claude_record(voice, {"type": "text", "text": "Done."}, voice)
    path = write_json(tmp_path / "conversations.json", [record, record])
    with caplog.at_level(logging.WARNING):
        items = read_items(path)
    assert conversations(items)["blocks"][1] == ("assistant", "Done.")
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "content block type 'voice_note'" in warnings[0]


def test_claude_unknown_block_alone_skipped(tmp_path: Path):
    record = claude_record({"type": "voice_note"})
    path = write_json(tmp_path / "conversations.json", [record])
    items = read_items(path)
    assert in_order(conversations(items)) == in_order({"blocks": (("user", "Read this aloud."),)})


# ChatGPT

CHATGPT_EGGS: Turns = (
    ("user", "How long should I boil an egg for a runny yolk?"),
    ("assistant", "Six minutes, then straight into cold water."),
    ("user", "[image]\nDoes this one look done?"),
    ("assistant", "minutes = {'runny': 6, 'jammy': 8, 'hard': 10}"),
    ("assistant", "It looks jammy, so about eight minutes."),
)
CHATGPT_KITTEN: Turns = (
    ("user", "Suggest a name for a grey kitten."),
    ("assistant", "Smokey."),
)
CHATGPT_CACTUS: Turns = (
    ("user", "How often should I water a cactus?"),
    ("assistant", "Every two to three weeks in summer."),
)


def test_chatgpt_export_read_exactly():
    items = read_fixture("chatgpt_conversations.json")
    assert in_order(conversations(items)) == in_order(
        {
            "gpt-eggs": CHATGPT_EGGS,
            "gpt-kitten": CHATGPT_KITTEN,
            expected_content_id(PREFIX, CHATGPT_CACTUS): CHATGPT_CACTUS,
        }
    )
    assert rejections(items) == []


def test_chatgpt_follows_current_node_branch():
    # The regenerated reply "Ten minutes." is on a branch that current_node does not end.
    contents = conversations(read_fixture("chatgpt_conversations.json"))["gpt-eggs"]
    assert ("assistant", "Ten minutes.") not in contents
    assert contents[1] == ("assistant", "Six minutes, then straight into cold water.")


def test_chatgpt_missing_current_node_takes_newest_leaf():
    # "Smokey." is listed first but created last, so it is the newest leaf.
    contents = conversations(read_fixture("chatgpt_conversations.json"))["gpt-kitten"]
    assert contents[-1] == ("assistant", "Smokey.")


def test_chatgpt_unknown_current_node_takes_newest_leaf():
    items = read_fixture("chatgpt_conversations.json")
    contents = conversations(items)[expected_content_id(PREFIX, CHATGPT_CACTUS)]
    assert contents[-1] == ("assistant", "Every two to three weeks in summer.")


def test_chatgpt_hidden_system_and_tool_skipped():
    roles = [
        role for role, _ in conversations(read_fixture("chatgpt_conversations.json"))["gpt-eggs"]
    ]
    assert "system" not in roles
    assert len(roles) == 5


def test_chatgpt_epoch_times_parsed():
    conversation = by_id(read_fixture("chatgpt_conversations.json"), "gpt-eggs")
    assert conversation.created_at == datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)
    assert conversation.updated_at == datetime(2024, 5, 1, 8, 5, 0, 250000, tzinfo=UTC)


def test_chatgpt_broken_mappings_rejected():
    items = read_fixture("fail_chatgpt_mapping.json")
    assert rejections(items) == [
        (1, "mapping has a cycle through node 'c3'"),
        (2, "node 'd1' has parent 'd-missing', which is not in the mapping"),
        (3, "mapping has no leaf node, so its parent links form a cycle"),
    ]
    assert in_order(conversations(items)) == in_order(
        {
            "gpt-fine": (
                ("user", "How long do I rest a steak?"),
                ("assistant", "About five minutes."),
            )
        }
    )


def test_chatgpt_single_object_file_read(tmp_path: Path):
    [record] = [
        item
        for item in json.loads((EXPORTS / "chatgpt_conversations.json").read_text())
        if item.get("id") == "gpt-kitten"
    ]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    items = read_items(path)
    assert in_order(conversations(items)) == in_order({"gpt-kitten": CHATGPT_KITTEN})
    assert len(items) == 1


# OpenAI-style chat JSONL


def test_openai_chat_jsonl_read_exactly():
    items = read_fixture("openai_chat.jsonl")
    assert in_order(conversations(items)) == in_order(
        {
            "meal-1": (
                ("system", "You help plan meals."),
                ("user", "Plan a dinner with lentils.\n[image]"),
                (
                    "assistant",
                    '[tool call: search_recipes({"ingredient": "lentils", "max_minutes":…)]',
                ),
                ("assistant", "Try a lentil curry with rice."),
            ),
            "leaf-2": (
                ("user", "[image]"),
                ("assistant", "That is a monstera leaf."),
            ),
            # Plain records without an id keep the positional id "<prefix>:<0-based line>".
            "fixture:sha1-77bfe0693be27976": (
                ("user", "What rhymes with orange?"),
                ("assistant", "Not much, but door hinge comes close."),
            ),
        }
    )
    assert rejections(items) == []


def test_openai_chat_updated_at_parsed():
    conversation = by_id(read_fixture("openai_chat.jsonl"), "meal-1")
    assert conversation.updated_at == datetime(2024, 3, 5, 10, 25, tzinfo=UTC)


def test_openai_tool_call_without_arguments(tmp_path: Path):
    record = {
        "id": "call",
        "messages": [
            {"role": "user", "content": "What time is it?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [{"function": {"name": "clock"}}],
            },
        ],
    }
    items = read_items(write_jsonl(tmp_path / "chat.jsonl", [record]))
    assert conversations(items)["call"][1] == ("assistant", "Checking.\n[tool call: clock]")


# ShareGPT


SHAREGPT_MUG: Turns = (
    ("user", "How do I remove a coffee stain from a mug?"),
    ("assistant", "Scrub it with baking soda and a little water."),
)


def test_sharegpt_read_exactly():
    items = read_fixture("sharegpt.json")
    assert in_order(conversations(items)) == in_order(
        {
            "bike-1": (
                ("system", "You are a friendly bike mechanic."),
                ("user", "My bike chain keeps slipping."),
                ("assistant", "Check whether the chain is worn or the gears need adjusting."),
                ("user", "How do I check for wear?"),
                ("assistant", "Use a chain checker tool."),
            ),
            "tea-2": (
                ("user", "Green or black tea before bed?"),
                ("assistant", "Neither; try a caffeine-free herbal tea."),
            ),
            expected_content_id(PREFIX, SHAREGPT_MUG): SHAREGPT_MUG,
        }
    )
    assert rejections(items) == []


def test_sharegpt_unknown_role_skipped_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        items = read_fixture("fail_unknown_sharegpt_role.json")
    assert in_order(conversations(items)) == in_order(
        {
            "narrated": (
                ("user", "What board game suits a rainy afternoon?"),
                ("assistant", "Carcassonne."),
            )
        }
    )
    assert rejections(items) == [(2, "no user message")]
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "ShareGPT role 'narrator'" in warnings[0]


def test_no_user_message_rejected():
    items = read_fixture("fail_no_user_message.json")
    assert rejections(items) == [(1, "no user message"), (2, "no user message")]
    assert list(conversations(items)) == ["has-user"]


# OpenAssistant


def test_oasst_trees_read_exactly():
    items = read_fixture("oasst_trees.jsonl")
    assert in_order(conversations(items)) == in_order(
        {
            "tree-wax": (
                ("user", "How do I get candle wax out of a tablecloth?"),
                ("assistant", "Freeze it, scrape it, then iron it between paper towels."),
            ),
            "tree-desk": (
                ("user", "Give me a stretching routine for my desk job."),
                ("assistant", "Neck rolls, shoulder shrugs and wrist circles."),
                ("user", "How often should I do them?"),
                ("assistant", "Every hour, for two minutes."),
            ),
        }
    )
    assert rejections(items) == []


def test_oasst_tree_takes_rank_zero_reply():
    # The rank 1 reply comes first in the file but loses to the rank 0 reply.
    contents = conversations(read_fixture("oasst_trees.jsonl"))["tree-wax"]
    assert ("assistant", "Scrape it off with a knife.") not in contents


def test_oasst_tree_drops_unanswered_last_prompt():
    contents = conversations(read_fixture("oasst_trees.jsonl"))["tree-wax"]
    assert contents[-1][0] == "assistant"
    assert ("user", "What if the wax is red?") not in contents


def test_oasst_tree_unranked_takes_first_reply():
    contents = conversations(read_fixture("oasst_trees.jsonl"))["tree-desk"]
    assert contents[1] == ("assistant", "Neck rolls, shoulder shrugs and wrist circles.")


def test_oasst_broken_trees_rejected():
    items = read_fixture("fail_oasst_trees.jsonl")
    assert rejections(items) == [(1, "synthetic prompt"), (2, "prompt has no reply")]
    assert list(conversations(items)) == ["tree-ok"]


def test_oasst_message_list_read_exactly():
    items = read_fixture("oasst_messages.json")
    assert in_order(conversations(items)) == in_order(
        {
            "game-u1": (
                ("user", "Can you suggest a board game for four people?"),
                ("assistant", "Try Ticket to Ride."),
                ("user", "Something shorter?"),
                ("assistant", "Love Letter takes twenty minutes."),
            ),
            "sheet-u1": (
                ("user", "How do I fold a fitted sheet?"),
                ("assistant", "Tuck the corners into each other first."),
            ),
            "bike-u1": (
                ("user", "What is a good first bike for commuting?"),
                ("assistant", "A hybrid bike with mudguards."),
            ),
        }
    )
    assert rejections(items) == []


def test_oasst_message_list_rank_overrides_order(tmp_path: Path):
    messages = json.loads((EXPORTS / "oasst_messages.json").read_text())
    for message in messages:
        if message["user_message_id"] == "game-a1b":
            message["rank"] = 0
    items = read_items(write_json(tmp_path / "ranked.json", messages))
    assert conversations(items)["game-u1"] == (
        ("user", "Can you suggest a board game for four people?"),
        ("assistant", "Try chess."),
    )


def test_oasst_broken_message_list_rejected():
    items = read_fixture("fail_oasst_messages.json")
    assert rejections(items) == [
        (3, "parent message 'never-exported' not found"),
        (5, "parent links form a cycle"),
        (7, "duplicate message id 'soup-a1'"),
        (8, "not an OpenAssistant message: keys note"),
    ]
    assert in_order(conversations(items)) == in_order(
        {
            "soup-u1": (
                ("user", "How do I thicken a soup?"),
                ("assistant", "Blend some of it, or add a potato."),
            )
        }
    )


# Broken files and records


def test_invalid_json_line_rejected():
    items = read_fixture("fail_invalid_json_line.jsonl")
    assert rejections(items) == [(2, "invalid JSON: Expecting ',' delimiter (column 78)")]
    assert list(conversations(items)) == ["plain-ok", "plain-ok-2"]


def test_truncated_array_keeps_earlier_records():
    items = read_fixture("fail_truncated_array.json")
    assert in_order(conversations(items)) == in_order({"claude-sourdough": CLAUDE_SOURDOUGH})
    assert rejections(items) == [(2, "invalid JSON: parse error: premature EOF")]


def test_unknown_record_shape_rejected():
    items = read_fixture("fail_unknown_shape.jsonl")
    reasons = [reason for _, reason in rejections(items)]
    assert [index for index, _ in rejections(items)] == [2, 3]
    assert all(reason.startswith("unknown record shape: keys ") for reason in reasons)
    assert list(conversations(items)) == ["plain-ok"]


def test_rejected_excerpt_from_array_record():
    rejected = read_fixture("fail_no_user_message.json")[0]
    assert isinstance(rejected, Rejected)
    assert rejected.excerpt.startswith('{"id": "only-assistant", "conversations": [')


def test_array_of_non_objects_rejected(tmp_path: Path):
    items = read_items(write_json(tmp_path / "values.json", ["text", 3]))
    assert rejections(items) == [
        (1, "JSON value is not an object: got string"),
        (2, "JSON value is not an object: got number"),
    ]


def test_first_line_error_stays_json_lines(tmp_path: Path):
    path = tmp_path / "chat.jsonl"
    good = (EXPORTS / "openai_chat.jsonl").read_text().splitlines()[0]
    path.write_text('{"id": "x", "messages": ]}\n' + good + "\n", encoding="utf-8")
    items = read_items(path)
    assert rejections(items) == [(1, "invalid JSON: Expecting value (column 25)")]
    assert list(conversations(items)) == ["meal-1"]


def test_zip_without_conversations_raises(tmp_path: Path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("users.json", "[]")
    with pytest.raises(FileNotFoundError, match="without a conversations.json member"):
        read_items(path)


def test_gzipped_array_read(tmp_path: Path):
    path = tmp_path / "sharegpt.json.gz"
    path.write_bytes(gzip.compress((EXPORTS / "sharegpt.json").read_bytes()))
    assert in_order(conversations(read_items(path))) == in_order(
        conversations(read_fixture("sharegpt.json"))
    )


def test_array_bom_nul_and_bad_bytes_cleaned(tmp_path: Path):
    record = {"id": "bytes", "conversations": [{"from": "human", "value": "pickle jar"}]}
    data = json.dumps([record]).encode("utf-8").replace(b"pickle", b"pi\xffck\x00le")
    path = tmp_path / "bytes.json"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    contents = conversations(read_items(path))["bytes"]
    assert contents == (("user", "pi\ufffdckle jar"),)


def test_empty_file_yields_nothing(tmp_path: Path):
    path = tmp_path / "empty.json"
    path.write_bytes(b"\xef\xbb\xbf \n")
    assert read_items(path) == []


# Ids


def test_content_id_same_across_files(tmp_path: Path):
    turns = [
        {"from": "human", "value": "How do I keep herbs fresh?"},
        {"from": "gpt", "value": "Wrap them in a damp towel."},
    ]
    other = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}
    first = write_json(tmp_path / "first.json", [{"conversations": turns}])
    second = write_jsonl(tmp_path / "second.jsonl", [other, {"conversations": turns}])
    [first_id] = conversations(read_items(first))
    second_ids = list(conversations(read_items(second)))
    assert second_ids[1] == first_id
    assert second_ids[0] != first_id


def test_content_id_uses_prefix_and_sha1(tmp_path: Path):
    turns = (("user", "Hi"), ("assistant", "Hello"))
    record = {
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]
    }
    path = write_json(tmp_path / "a.json", [record])
    [conversation_id] = conversations(read_items(path, "box"))
    assert conversation_id == expected_content_id("box", turns)


def test_hh_ids_positional_in_arrays(tmp_path: Path):
    record = {"chosen": "\n\nHuman: hi\n\nAssistant: hello"}
    items = read_items(write_json(tmp_path / "hh.json", [record, record]), "hh/test")
    assert [item.conversation_id for item in items] == ["hh/test:0", "hh/test:1"]


# Originals


def email_records() -> list[tuple[str, str, object]]:
    """Return (format, file name, content) for one record per format with an email."""
    text = "Write to ada@example.org about the bake sale."
    reply = "Sure."
    return [
        ("plain", "a.jsonl", {"id": "e", "messages": [{"role": "user", "content": text}]}),
        ("hh-rlhf", "a.jsonl", {"chosen": f"\n\nHuman: {text}\n\nAssistant: {reply}"}),
        (
            "claude",
            "a.json",
            [{"uuid": "e", "chat_messages": [{"sender": "human", "text": text}]}],
        ),
        (
            "chatgpt",
            "a.json",
            [
                {
                    "id": "e",
                    "mapping": {
                        "u": {
                            "message": {
                                "author": {"role": "user"},
                                "content": {"content_type": "text", "parts": [text]},
                            },
                            "parent": None,
                            "children": [],
                        }
                    },
                    "current_node": "u",
                }
            ],
        ),
        ("sharegpt", "a.json", [{"id": "e", "conversations": [{"from": "human", "value": text}]}]),
        (
            "oasst tree",
            "a.jsonl",
            {
                "message_tree_id": "e",
                "prompt": {
                    "text": text,
                    "role": "prompter",
                    "replies": [{"text": reply, "role": "assistant"}],
                },
            },
        ),
        (
            "oasst messages",
            "a.json",
            [
                {"message_id": "e", "parent_id": None, "text": text, "role": "prompter"},
                {"message_id": "r", "parent_id": "e", "text": reply, "role": "assistant"},
            ],
        ),
    ]


def write_record(path: Path, content: object) -> Path:
    if path.suffix == ".jsonl":
        return write_jsonl(path, [content])
    return write_json(path, content)


@pytest.mark.parametrize(
    ("file_name", "content"),
    [(name, content) for _, name, content in email_records()],
    ids=[label for label, _, _ in email_records()],
)
def test_keep_originals_holds_unscrubbed_text(tmp_path: Path, file_name: str, content: object):
    path = write_record(tmp_path / file_name, content)
    [conversation] = read_items(path, keep_originals=True)
    first = conversation.messages[0]
    assert first.content == "Write to [EMAIL] about the bake sale."
    assert first.original == "Write to ada@example.org about the bake sale."


@pytest.mark.parametrize(
    ("file_name", "content"),
    [(name, content) for _, name, content in email_records()],
    ids=[label for label, _, _ in email_records()],
)
def test_originals_absent_by_default(tmp_path: Path, file_name: str, content: object):
    [conversation] = read_items(write_record(tmp_path / file_name, content))
    assert all(message.original is None for message in conversation.messages)


def test_message_and_conversation_defaults():
    message = Message("user", "hi")
    conversation = Conversation("s", "c", (message,), None, None)
    assert message.original is None
    assert conversation.updated_at is None


# Progress and memory


def test_progress_logged_without_text(tmp_path: Path, caplog):
    record = {"messages": [{"role": "user", "content": "secret pumpkin recipe"}]}
    path = tmp_path / "many.jsonl"
    path.write_text((json.dumps(record) + "\n") * 20_000, encoding="utf-8")
    logger_name = "orchestration.defs.conversations.parse"
    with caplog.at_level(logging.INFO, logger=logger_name):
        assert len(read_items(path)) == 20_000
    records = [record for record in caplog.records if record.name == logger_name]
    messages = [record.getMessage() for record in records]
    assert len(messages) == 2
    assert "20000 records read, 19999 conversations and 0 rejected so far" in messages[1]
    assert all("pumpkin" not in message for message in messages)


def write_large_array(path: Path, target_bytes: int) -> int:
    """Write a JSON array of ChatGPT-style records one at a time; return the record count.

    Most bytes are in metadata that the reader parses and drops. Short messages keep the
    scrubbing, which costs far more per byte than parsing, from dominating the run time.
    """
    metadata = {"safe_urls": [f"https://bakery.example/recipes/{n}" for n in range(80)]}
    count = 0
    written = 1
    with path.open("w", encoding="utf-8") as file:
        file.write("[")
        while written < target_bytes:
            record = {
                "id": f"big-{count}",
                "mapping": {
                    "u": {
                        "message": {
                            "author": {"role": "user"},
                            "content": {"content_type": "text", "parts": ["How do I proof bread?"]},
                            "metadata": metadata,
                        },
                        "parent": None,
                        "children": ["a"],
                    },
                    "a": {
                        "message": {
                            "author": {"role": "assistant"},
                            "content": {"content_type": "text", "parts": ["Let it rise twice."]},
                            "metadata": metadata,
                        },
                        "parent": "u",
                        "children": [],
                    },
                },
                "current_node": "a",
            }
            text = ("," if count else "") + json.dumps(record)
            file.write(text)
            written += len(text)
            count += 1
        file.write("]")
    return count


def test_streamed_array_memory_bounded(tmp_path: Path):
    path = tmp_path / "large.json"
    expected = write_large_array(path, 50 * 1024 * 1024)
    tracemalloc.start()
    try:
        count = 0
        for item in read_conversations(path, "test", PREFIX):
            assert isinstance(item, Conversation)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == expected
    assert peak < 30 * 1024 * 1024


# Samples


def test_samples_match_clean_fixtures():
    names = sorted(path.name for path in SAMPLES.iterdir())
    assert names == [
        "chatgpt_conversations.json",
        "claude_conversations.json",
        "oasst_messages.json",
        "oasst_trees.jsonl",
        "openai_chat.jsonl",
        "sharegpt.json",
    ]
    for name in names:
        assert (SAMPLES / name).read_bytes() == (EXPORTS / name).read_bytes(), name


# Published OpenAssistant files


@pytest.mark.mirror
def test_published_oasst_files_counts(real_mirror):
    root = real_mirror / "conversations"
    tree_path = root / "oasst1_en_sample" / "en_100_tree.jsonl"
    flat_path = root / "hh_rlhf_helpful_oa_seed" / "realistic_seed_data.json.gz"
    if not (tree_path.is_file() and flat_path.is_file()):
        pytest.skip(f"published OpenAssistant samples not found under {root}")

    # 100 trees, one per line. 5 have a synthetic prompt (model-written) and are rejected.
    # The rank-0 threads of the other 95 cover 313 messages, and 39 of them end in a
    # prompt without a reply, which is dropped: 274 messages remain.
    tree_items = read_items(tree_path, "oasst1_en_sample")
    tree_rejects = [reason for _, reason in rejections(tree_items)]
    tree_conversations = [item for item in tree_items if isinstance(item, Conversation)]
    assert len(tree_items) == 100
    assert len(tree_conversations) == 95
    assert tree_rejects == ["synthetic prompt"] * 5
    assert sum(len(item.messages) for item in tree_conversations) == 274

    # 5,825 messages with 982 roots, all prompts. Every thread ends with a reply, and the
    # first-child threads hold 4,737 messages. The "Assistant: " label that 1,996 texts
    # carry is stripped, so no threaded message keeps it.
    flat_items = read_items(flat_path, "hh_rlhf_helpful_oa_seed")
    flat_conversations = [item for item in flat_items if isinstance(item, Conversation)]
    flat_messages = [message for item in flat_conversations for message in item.messages]
    assert len(flat_conversations) == 982
    assert rejections(flat_items) == []
    assert len(flat_messages) == 4737
    assert not any(message.content.startswith("Assistant:") for message in flat_messages)


def test_sharegpt_account_id_is_read(tmp_path: Path) -> None:
    record = {
        "id": "sg-1",
        "account_id": "acct-bravo",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}],
    }
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps([record]))
    [conversation] = list(read_conversations(path, "inbox", "sharegpt"))
    assert conversation.account_id == "acct-bravo"


def test_quarantine_excerpt_hides_account_id(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "account_id": "team-alpha", "messages": [}\n')
    [rejected] = list(read_conversations(path, "inbox", "bad"))
    assert "team-alpha" not in rejected.excerpt
    assert '"account_id": "[ACCOUNT]"' in rejected.excerpt


def test_non_list_turns_get_precise_reason(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"id": "x", "conversations": "hello"}\n')
    [rejected] = list(read_conversations(path, "inbox", "odd"))
    assert rejected.reason == "field 'conversations' has an unexpected type: got string"
