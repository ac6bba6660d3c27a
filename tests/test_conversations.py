"""Tests for reading conversation files and loading them into DuckDB."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.conversations.accounts import hash_account
from orchestration.defs.conversations.load import (
    LoadOptions,
    LoadStats,
    content_sha256,
    ensure_tables,
    load_conversations,
    purge_originals,
)
from orchestration.defs.conversations.parse import (
    EXCERPT_MAX_CHARS,
    Conversation,
    Message,
    Rejected,
    read_conversations,
)

TEST_KEY = b"test-account-hash-key-0123456789"
OPTIONS = LoadOptions(account_key=TEST_KEY)


def write_lines(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def plain_record(**fields: object) -> str:
    record: dict[str, object] = {
        "messages": [
            {"role": "user", "content": "How do I pickle cucumbers?"},
            {"role": "assistant", "content": "Use brine and wait a week."},
        ]
    }
    record.update(fields)
    return json.dumps(record)


def read_all(path: Path, source: str = "test", prefix: str = "sample") -> list:
    return list(read_conversations(path, source, prefix))


def only_conversation(path: Path) -> Conversation:
    items = read_all(path)
    assert len(items) == 1
    assert isinstance(items[0], Conversation), items[0]
    return items[0]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


# hh-rlhf transcripts


def test_hh_transcript_splits_alternating_turns(tmp_path: Path):
    transcript = (
        "Preface that is not a turn."
        "\n\nHuman: What is a good name for a cat?"
        "\n\nAssistant: Maybe Biscuit."
        "\n\nHuman: Another one?"
        "\n\nAssistant: Pepper."
    )
    path = write_lines(tmp_path / "hh.jsonl", [json.dumps({"chosen": transcript, "rejected": ""})])
    conversation = only_conversation(path)
    roles = [message.role for message in conversation.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert conversation.messages[0].content == "What is a good name for a cat?"
    assert conversation.messages[3].content == "Pepper."
    assert conversation.conversation_id == "sample:0"
    assert conversation.account_id is None
    assert conversation.created_at is None


def test_hh_transcript_drops_empty_turns(tmp_path: Path):
    transcript = "\n\nHuman: Hello there\n\nAssistant:  \n\nHuman: Anyone?\n\nAssistant: Yes."
    path = write_lines(tmp_path / "hh.jsonl", [json.dumps({"chosen": transcript})])
    conversation = only_conversation(path)
    roles = [message.role for message in conversation.messages]
    assert roles == ["user", "user", "assistant"]


def test_hh_ids_use_line_index(tmp_path: Path):
    record = json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: hello"})
    path = write_lines(tmp_path / "hh.jsonl", [record, "", record])
    ids = [item.conversation_id for item in read_all(path, prefix="harmless/test")]
    assert ids == ["harmless/test:0", "harmless/test:2"]


# Plain JSONL


def test_plain_content_string_list_and_null(tmp_path: Path):
    record = {
        "id": "c1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "human", "content": [{"type": "text", "text": "Part one."}, "Part two."]},
            {"role": "gpt", "content": None},
            {"role": "bot", "content": [{"type": "image_url", "url": "x"}, {"text": "Done."}]},
        ],
    }
    path = write_lines(tmp_path / "plain.jsonl", [json.dumps(record)])
    conversation = only_conversation(path)
    assert conversation.messages == (
        Message("system", "Be brief."),
        Message("user", "Part one.\nPart two."),
        Message("assistant", "[image]\nDone."),
    )


@pytest.mark.parametrize(
    ("alias", "role"),
    [
        ("human", "user"),
        ("User", "user"),
        ("prompter", "user"),
        ("assistant", "assistant"),
        ("gpt", "assistant"),
        ("bot", "assistant"),
        ("model", "assistant"),
        ("chatbot", "assistant"),
        ("system", "system"),
    ],
)
def test_role_alias_maps_to_role(tmp_path: Path, alias: str, role: str):
    messages = [{"role": "user", "content": "hi"}, {"role": alias, "content": "text"}]
    path = write_lines(tmp_path / "plain.jsonl", [json.dumps({"messages": messages})])
    conversation = only_conversation(path)
    assert conversation.messages[1].role == role


def test_blank_plain_message_dropped(tmp_path: Path):
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "\n\n"},
        {"role": "user", "content": "still there?"},
    ]
    path = write_lines(tmp_path / "plain.jsonl", [json.dumps({"messages": messages})])
    conversation = only_conversation(path)
    assert len(conversation.messages) == 2


def test_integer_id_becomes_string(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl", [plain_record(id=42)])
    assert only_conversation(path).conversation_id == "42"


def test_missing_id_comes_from_content(tmp_path: Path):
    first = write_lines(tmp_path / "a.jsonl", ["", plain_record()])
    second = write_lines(tmp_path / "b.jsonl", [plain_record(), plain_record(id="x")])
    conversation_id = only_conversation(first).conversation_id
    assert conversation_id.startswith("sample:sha1-")
    assert read_all(second)[0].conversation_id == conversation_id


def test_account_id_kept(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl", [plain_record(account_id=7001)])
    assert only_conversation(path).account_id == "7001"


def test_naive_created_at_taken_as_utc(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl", [plain_record(created_at="2024-03-05T10:20:30")])
    created_at = only_conversation(path).created_at
    assert created_at == datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)
    assert created_at.tzinfo is UTC


def test_offset_created_at_converted_to_utc(tmp_path: Path):
    line = plain_record(created_at="2024-03-05T12:20:30+02:00")
    created_at = only_conversation(write_lines(tmp_path / "plain.jsonl", [line])).created_at
    assert created_at == datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)
    assert created_at.utcoffset().total_seconds() == 0


def test_epoch_created_at_parsed(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl", [plain_record(created_at=1700000000)])
    created_at = only_conversation(path).created_at
    assert created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_metadata_timestamp_used_as_fallback(tmp_path: Path):
    line = plain_record(metadata={"timestamp": "2023-05-27T15:48:53+00:00"})
    created_at = only_conversation(write_lines(tmp_path / "plain.jsonl", [line])).created_at
    assert created_at == datetime(2023, 5, 27, 15, 48, 53, tzinfo=UTC)


def test_null_metadata_timestamp_gives_none(tmp_path: Path):
    line = plain_record(metadata={"timestamp": None})
    assert only_conversation(write_lines(tmp_path / "plain.jsonl", [line])).created_at is None


def test_invalid_created_at_rejected(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl", [plain_record(created_at="last Tuesday")])
    [item] = read_all(path)
    assert isinstance(item, Rejected)
    assert item.reason.startswith("invalid created_at 'last Tuesday'")


# Reading files


def test_gzip_file_read_transparently(tmp_path: Path):
    path = write_lines(tmp_path / "plain.jsonl.gz", [plain_record(id="a"), plain_record(id="b")])
    ids = [item.conversation_id for item in read_all(path)]
    assert ids == ["a", "b"]


def test_invalid_utf8_and_nul_tolerated(tmp_path: Path):
    line = plain_record(id="bytes").encode("utf-8").replace(b"pickle", b"pi\xffck\x00le")
    path = tmp_path / "plain.jsonl"
    path.write_bytes(line + b"\n")
    conversation = only_conversation(path)
    assert conversation.messages[0].content == "How do I pi\ufffdckle cucumbers?"


def test_escaped_nul_stripped_from_content(tmp_path: Path):
    messages = [{"role": "user", "content": "a\u0000b"}]
    path = write_lines(tmp_path / "plain.jsonl", [json.dumps({"messages": messages})])
    assert only_conversation(path).messages[0].content == "ab"


def test_messages_scrubbed_before_leaving_reader(tmp_path: Path):
    messages = [{"role": "user", "content": "I am dana@example.com, call 555-867-5309"}]
    path = write_lines(tmp_path / "plain.jsonl", [json.dumps({"messages": messages})])
    content = only_conversation(path).messages[0].content
    assert content == "I am [EMAIL], call [PHONE]"


# Rejected records


def mixed_file(tmp_path: Path) -> Path:
    """Write good records around each kind of bad record. Comments give line numbers."""
    lines = [
        plain_record(id="good-1"),  # 1
        '{"id": "broken", "messages": [}',  # 2
        "[1, 2, 3]",  # 3
        json.dumps({"messages": [{"role": "narrator", "content": "Once upon"}]}),  # 4
        "",  # 5: blank, not a record
        json.dumps({"messages": [{"role": "assistant", "content": "Unasked"}]}),  # 6
        plain_record(id="good-2"),  # 7
        json.dumps({"prompt": "text", "response": "text"}),  # 8
        json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: hello"}),  # 9
    ]
    return write_lines(tmp_path / "mixed.jsonl", lines)


def test_bad_records_yield_rejected_reasons(tmp_path: Path):
    items = read_all(mixed_file(tmp_path))
    rejected = {item.record_index: item.reason for item in items if isinstance(item, Rejected)}
    assert rejected[2] == "invalid JSON: Expecting value (column 31)"
    assert rejected[3] == "JSON value is not an object: got array"
    assert rejected[4] == "unknown role 'narrator'"
    assert rejected[6] == "no user message"
    assert rejected[8] == "unknown record shape: keys prompt, response"
    assert len(rejected) == 5


def test_good_records_around_bad_ones_read(tmp_path: Path):
    items = read_all(mixed_file(tmp_path))
    ids = [item.conversation_id for item in items if isinstance(item, Conversation)]
    assert ids == ["good-1", "good-2", "sample:8"]


def test_blank_lines_not_counted(tmp_path: Path):
    items = read_all(mixed_file(tmp_path))
    assert len(items) == 8


def test_rejected_excerpt_scrubbed_and_short(tmp_path: Path):
    line = '{"note": "' + "reach me at lee@example.com " + "x" * 500 + '"}'
    [item] = read_all(write_lines(tmp_path / "bad.jsonl", [line]))
    assert isinstance(item, Rejected)
    assert "lee@example.com" not in item.excerpt
    assert "[EMAIL]" in item.excerpt
    assert len(item.excerpt) <= EXCERPT_MAX_CHARS


def test_truncated_gzip_raises_with_path(tmp_path: Path):
    path = write_lines(tmp_path / "cut.jsonl.gz", [plain_record(id=str(n)) for n in range(200)])
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(EOFError) as raised:
        read_all(path)
    assert any(str(path) in note for note in raised.value.__notes__)


# Loading into DuckDB


def test_mixed_file_loads_good_and_quarantines_bad(tmp_path: Path, con):
    path = mixed_file(tmp_path)
    stats = load_conversations(
        con, read_conversations(path, "test", "sample"), "mixed.jsonl", options=OPTIONS
    )
    assert stats == LoadStats("mixed.jsonl", read=8, loaded=3, already_loaded=0, quarantined=5)
    stored = con.execute("select conversation_id from raw.conversations order by 1").fetchall()
    assert stored == [("good-1",), ("good-2",), ("sample:8",)]
    quarantine = con.execute(
        "select source_file, record_index, reason from raw.quarantine order by record_index"
    ).fetchall()
    assert [row[1] for row in quarantine] == [2, 3, 4, 6, 8]
    assert quarantine[2][2] == "unknown role 'narrator'"
    assert quarantine[3][2] == "no user message"
    assert {row[0] for row in quarantine} == {"mixed.jsonl"}


def test_rerun_loads_nothing_new(tmp_path: Path, con):
    path = mixed_file(tmp_path)
    load_conversations(
        con, read_conversations(path, "test", "sample"), "mixed.jsonl", options=OPTIONS
    )
    stats = load_conversations(
        con, read_conversations(path, "test", "sample"), "mixed.jsonl", options=OPTIONS
    )
    assert stats.loaded == 0
    assert stats.already_loaded == 3
    assert stats.quarantined == 5
    assert con.execute("select count(*) from raw.conversations").fetchone() == (3,)
    assert con.execute("select count(*) from raw.messages").fetchone() == (6,)
    assert con.execute("select count(*) from raw.quarantine").fetchone() == (5,)


def test_read_equals_loaded_plus_skipped(tmp_path: Path, con):
    path = mixed_file(tmp_path)
    # The stored version is longer, so the file's shorter export does not replace it.
    turns = (Message("user", "hi"), Message("assistant", "hello"), Message("user", "more"))
    earlier = Conversation("test", "good-1", turns, None, None)
    load_conversations(con, [earlier], "earlier.jsonl", options=OPTIONS)
    stats = load_conversations(
        con, read_conversations(path, "test", "sample"), "mixed.jsonl", options=OPTIONS
    )
    assert stats.already_loaded == 1
    assert stats.read == stats.loaded + stats.already_loaded + stats.quarantined


def test_small_batches_load_everything(tmp_path: Path, con):
    lines = [plain_record(id=f"c{n}") for n in range(7)] + ["not json"]
    path = write_lines(tmp_path / "many.jsonl", lines)
    items = read_conversations(path, "test", "sample")
    stats = load_conversations(con, items, "many.jsonl", batch_size=3, options=OPTIONS)
    assert stats.loaded == 7
    assert stats.quarantined == 1
    assert con.execute("select count(*) from raw.messages").fetchone() == (14,)


def test_batch_progress_logged_without_text(tmp_path: Path, con, caplog):
    path = write_lines(tmp_path / "many.jsonl", [plain_record(id=f"c{n}") for n in range(5)])
    with caplog.at_level(logging.INFO, logger="orchestration.defs.conversations.load"):
        load_conversations(
            con, read_conversations(path, "test", "sample"), "f", batch_size=2, options=OPTIONS
        )
    assert len(caplog.records) == 3
    assert "5 read, 5 loaded" in caplog.records[-1].getMessage()
    assert all("cucumbers" not in record.getMessage() for record in caplog.records)


def test_duplicate_id_in_file_loaded_once(tmp_path: Path, con):
    path = write_lines(tmp_path / "dup.jsonl", [plain_record(id="same"), plain_record(id="same")])
    stats = load_conversations(
        con, read_conversations(path, "test", "sample"), "dup.jsonl", options=OPTIONS
    )
    assert stats.loaded == 1
    assert stats.already_loaded == 1
    assert con.execute("select count(*) from raw.messages").fetchone() == (2,)


def test_email_and_phone_never_stored(tmp_path: Path, con):
    messages = [
        {"role": "user", "content": "Email sam.ortiz@example.net or ring +44 20 7946 0958."},
        {"role": "assistant", "content": "I will not contact sam.ortiz@example.net."},
    ]
    path = write_lines(tmp_path / "pii.jsonl", [json.dumps({"id": "p", "messages": messages})])
    load_conversations(
        con, read_conversations(path, "test", "sample"), "pii.jsonl", options=OPTIONS
    )
    contents = [row[0] for row in con.execute("select content from raw.messages").fetchall()]
    assert len(contents) == 2
    assert not any("sam.ortiz@example.net" in content for content in contents)
    assert not any("7946" in content for content in contents)
    assert contents[0] == "Email [EMAIL] or ring [PHONE]."


def test_conversation_row_columns_filled(tmp_path: Path, con):
    line = plain_record(id="row", account_id="acct-9", created_at="2024-01-02T03:04:05Z")
    path = write_lines(tmp_path / "row.jsonl", [line])
    load_conversations(
        con, read_conversations(path, "test", "sample"), "row.jsonl", options=OPTIONS
    )
    row = con.execute(
        """
        select account_id, epoch(created_at), message_count, user_turn_count, source_file,
               content_sha256, loaded_at is not null
        from raw.conversations
        """
    ).fetchone()
    conversation = only_conversation(path)
    assert row[0] == hash_account("acct-9", TEST_KEY)
    assert row[1] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert row[2] == 2
    assert row[3] == 1
    assert row[4] == "row.jsonl"
    assert row[5] == content_sha256(conversation.messages)
    assert row[6] is True


def test_message_rows_keep_order(tmp_path: Path, con):
    path = write_lines(tmp_path / "row.jsonl", [plain_record(id="row")])
    load_conversations(
        con, read_conversations(path, "test", "sample"), "row.jsonl", options=OPTIONS
    )
    rows = con.execute(
        "select message_index, role from raw.messages order by message_index"
    ).fetchall()
    assert rows == [(0, "user"), (1, "assistant")]


def test_content_sha256_depends_on_content():
    first = content_sha256((Message("user", "a"), Message("assistant", "b")))
    assert first == content_sha256([Message("user", "a"), Message("assistant", "b")])
    assert first != content_sha256((Message("user", "a"), Message("assistant", "c")))
    assert first != content_sha256((Message("assistant", "a"), Message("user", "b")))


def test_ensure_tables_creates_expected_columns(con):
    ensure_tables(con)
    ensure_tables(con)
    columns = con.execute(
        """
        select table_name, column_name, data_type
        from information_schema.columns
        where table_schema = 'raw'
        order by table_name, ordinal_position
        """
    ).fetchall()
    quarantine = [row[1:] for row in columns if row[0] == "quarantine"]
    assert quarantine == [
        ("source_file", "VARCHAR"),
        ("record_index", "BIGINT"),
        ("reason", "VARCHAR"),
        ("excerpt", "VARCHAR"),
        ("quarantined_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    conversation_columns = [row[1] for row in columns if row[0] == "conversations"]
    assert conversation_columns == [
        "source",
        "conversation_id",
        "account_id",
        "created_at",
        "message_count",
        "user_turn_count",
        "source_file",
        "content_sha256",
        "loaded_at",
        "updated_at",
        "ingested_on",
    ]
    message_columns = [row[1] for row in columns if row[0] == "messages"]
    assert message_columns == ["source", "conversation_id", "message_index", "role", "content"]


def test_invalid_batch_size_raises(con):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        load_conversations(con, [], "empty.jsonl", batch_size=0, options=OPTIONS)


# Published samples


@pytest.mark.mirror
def test_published_samples_parse_completely(con, real_mirror):
    root = real_mirror / "conversations"
    hh_path = root / "hh_rlhf" / "harmless-base" / "test.jsonl.gz"
    wildchat_path = root / "wildchat_convotopo_589" / "conversations.jsonl.gz"
    if not (hh_path.is_file() and wildchat_path.is_file()):
        pytest.skip(f"published conversation samples not found under {root}")

    hh_items = list(read_conversations(hh_path, "hh-rlhf", "harmless-base/test"))
    wildchat_items = list(read_conversations(wildchat_path, "wildchat", "wildchat_convotopo_589"))
    hh = [item for item in hh_items if isinstance(item, Conversation)]
    wildchat = [item for item in wildchat_items if isinstance(item, Conversation)]
    assert len(hh) == 2312
    assert len(wildchat) == 589
    assert len(hh_items) == len(hh)
    assert len(wildchat_items) == len(wildchat)
    # Four hh-rlhf turns and one WildChat message are blank and are dropped.
    assert sum(len(item.messages) for item in hh) == 11516
    assert sum(len(item.messages) for item in wildchat) == 4798
    # 187 WildChat records have a metadata.timestamp, and the other 402 have null.
    assert sum(item.created_at is not None for item in wildchat) == 187

    stats = load_conversations(con, iter(wildchat_items), str(wildchat_path), options=OPTIONS)
    assert stats.loaded == 589


def _conversation(conversation_id: str, *texts: str, **fields) -> Conversation:
    roles = ("user", "assistant")
    messages = tuple(Message(roles[index % 2], text) for index, text in enumerate(texts))
    return Conversation(
        "test",
        conversation_id,
        messages,
        fields.get("account_id"),
        None,
        updated_at=fields.get("updated_at"),
    )


def test_longer_export_replaces_stored(con):
    load_conversations(con, [_conversation("c", "hi", "hello")], "old.json", options=OPTIONS)
    con.execute("create table raw.conversation_tags (source varchar, conversation_id varchar)")
    con.execute("insert into raw.conversation_tags values ('test', 'c')")

    longer = _conversation("c", "hi", "hello", "and then?", "more")
    stats = load_conversations(con, [longer], "new.json", options=OPTIONS)

    assert stats.updated == 1
    assert stats.loaded == 0
    assert con.execute("select count(*) from raw.messages").fetchone() == (4,)
    assert con.execute("select message_count from raw.conversations").fetchone() == (4,)
    assert con.execute("select count(*) from raw.conversation_tags").fetchone() == (0,)


def test_later_update_wins_over_length(con):
    early = datetime(2025, 1, 1, tzinfo=UTC)
    late = datetime(2025, 2, 1, tzinfo=UTC)
    stored = _conversation("c", "a", "b", "c", "d", updated_at=late)
    load_conversations(con, [stored], "late.json", options=OPTIONS)

    older_but_longer = _conversation("c", "a", "b", "c", "d", "e", "f", updated_at=early)
    stats = load_conversations(con, [older_but_longer], "early.json", options=OPTIONS)

    assert stats.updated == 0
    assert stats.already_loaded == 1
    assert con.execute("select message_count from raw.conversations").fetchone() == (4,)


def test_account_ids_never_stored_raw(con):
    conversation = _conversation("c", "hi", account_id="user@example.org")
    load_conversations(con, [conversation], "a.json", options=OPTIONS)
    (stored,) = con.execute("select account_id from raw.conversations").fetchone()
    assert stored == hash_account("user@example.org", TEST_KEY)
    assert "example.org" not in stored


def test_forgotten_account_is_not_reloaded(con):
    forgotten = hash_account("gone", TEST_KEY)
    options = LoadOptions(account_key=TEST_KEY, forgotten_accounts=frozenset({forgotten}))
    items = [_conversation("a", "hi", account_id="gone"), _conversation("b", "hi")]
    stats = load_conversations(con, items, "f.json", options=options)
    assert stats.forgotten == 1
    assert stats.loaded == 1
    assert con.execute("select conversation_id from raw.conversations").fetchall() == [("b",)]


def test_originals_stored_only_on_opt_in(tmp_path: Path, con):
    line = json.dumps(
        {"id": "o", "messages": [{"role": "user", "content": "mail ada@example.org"}]}
    )
    path = write_lines(tmp_path / "o.jsonl", [line])
    load_conversations(
        con,
        read_conversations(path, "test", "sample", keep_originals=True),
        "o.jsonl",
        options=OPTIONS,
    )
    assert con.execute("select count(*) from raw.message_originals").fetchone() == (0,)

    con.execute("delete from raw.messages; delete from raw.conversations")
    opted_in = LoadOptions(account_key=TEST_KEY, keep_originals=True)
    load_conversations(
        con,
        read_conversations(path, "test", "sample", keep_originals=True),
        "o.jsonl",
        options=opted_in,
    )
    originals = con.execute("select content from raw.message_originals").fetchall()
    stored = con.execute("select content from raw.messages").fetchall()
    assert originals == [("mail ada@example.org",)]
    assert stored == [("mail [EMAIL]",)]


def test_originals_purged_after_retention(con):
    ensure_tables(con)
    con.execute(
        """
        insert into raw.message_originals values
            ('s', 'old', 0, 'x', current_timestamp - interval 40 days),
            ('s', 'new', 0, 'y', current_timestamp - interval 2 days)
        """
    )
    assert purge_originals(con, retention_days=30) == 1
    assert con.execute("select conversation_id from raw.message_originals").fetchall() == [("new",)]
