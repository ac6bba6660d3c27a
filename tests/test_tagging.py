"""The offline tagger and the interaction-mode rules."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.defs.conversations.load import ensure_tables
from orchestration.defs.tagging.assets import untagged_batches, write_tags
from orchestration.defs.tagging.modes import classify_mode
from orchestration.defs.tagging.offline import OfflineTagger, TaskStatement
from orchestration.defs.tagging.records import (
    INTERACTION_MODES,
    ConversationText,
    ensure_tag_table,
)
from orchestration.defs.tagging.store import bring_forward

STATEMENTS = [
    TaskStatement(1, "Write, update, and maintain computer programs.", "Computer Programmers"),
    TaskStatement(2, "Plan menus and recipes for banquets and daily meals.", "Chefs"),
    TaskStatement(3, "Plan menus and recipes for banquets and daily meals.", "Cooks"),
    TaskStatement(4, "Diagnose and treat diseases of the teeth and gums.", "Dentists"),
]


def _conversation(*user_turns: str, conversation_id: str = "c1") -> ConversationText:
    return ConversationText("test", conversation_id, tuple(user_turns), ())


def test_tagger_finds_matching_task() -> None:
    tagger = OfflineTagger(STATEMENTS)
    [record] = tagger.tag([_conversation("Can you plan a menu with recipes for a banquet?")])
    assert record.is_occupational
    assert record.task_id == 2


def test_shared_statement_maps_to_lowest_id() -> None:
    tagger = OfflineTagger(STATEMENTS)
    assert tagger.task_count == 3


def test_unrelated_request_is_not_occupational() -> None:
    tagger = OfflineTagger(STATEMENTS)
    [record] = tagger.tag([_conversation("hello there")])
    assert not record.is_occupational
    assert record.task_id is None


def test_tag_record_names_backend_and_version() -> None:
    tagger = OfflineTagger(STATEMENTS)
    [record] = tagger.tag([_conversation("Diagnose my gums")])
    assert (record.backend, record.model, record.prompt_version) == (
        "offline",
        "tfidf-task-statements",
        "offline-v1",
    )


def test_tagger_needs_statements() -> None:
    with pytest.raises(ValueError, match="no task statements"):
        OfflineTagger([])


@pytest.mark.parametrize(
    ("user_turns", "expected"),
    [
        (("hi",), "none"),
        (("Who are you?",), "none"),
        (("Write a cover letter for a nursing job",), "directive"),
        (("Can you write a haiku about rain?",), "directive"),
        (("Write a poem about cats", "Make it shorter"), "task_iteration"),
        (
            ("Write a script to rename files", "It says NameError: name 'os' is not defined"),
            "feedback_loop",
        ),
        (("Can you check my essay for grammar? Here it is: ...",), "validation"),
        (("Why is the sky blue?",), "learning"),
        (("How do I house-train a puppy?", "What about at night?"), "learning"),
        ((), "none"),
    ],
)
def test_mode_rules(user_turns: tuple[str, ...], expected: str) -> None:
    assert classify_mode(user_turns) == expected


def test_modes_are_spelt_as_marts_expect() -> None:
    seed = Path(__file__).parent.parent / "seeds" / "interaction_modes.csv"
    seeded = [line.split(",")[0] for line in seed.read_text().splitlines()[1:]]
    assert sorted(seeded) == sorted(INTERACTION_MODES)


def test_tagged_conversations_are_skipped(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(connection)
    ensure_tag_table(connection)
    for index in range(5):
        connection.execute(
            "insert into raw.conversations (source, conversation_id) values ('s', ?)",
            [f"c{index}"],
        )
        connection.execute(
            "insert into raw.messages values ('s', ?, 0, 'user', 'Plan a banquet menu')",
            [f"c{index}"],
        )
    tagger = OfflineTagger(STATEMENTS)
    key = (tagger.backend, tagger.model, tagger.prompt_version)

    first = [batch for batch in untagged_batches(connection, *key, batch_size=2)]
    for batch in first:
        write_tags(connection, tagger.tag(batch))
    second = [batch for batch in untagged_batches(connection, *key, batch_size=2)]

    assert [len(batch) for batch in first] == [2, 2, 1]
    assert second == []
    assert connection.execute("select count(*) from raw.conversation_tags").fetchone() == (5,)
    connection.close()


def _insert_tag(connection, conversation_id: str, key: tuple[str, str, str], tagged_at: str):
    connection.execute(
        """
        insert into raw.conversation_tags
            (source, conversation_id, backend, model, prompt_version, is_occupational,
             interaction_mode, tagged_at)
        values ('s', ?, ?, ?, ?, true, 'directive', ?::timestamptz)
        """,
        [conversation_id, *key, tagged_at],
    )


def _newest_key(connection, conversation_id: str) -> tuple[str, str, str]:
    return connection.execute(
        """
        select backend, model, prompt_version from raw.conversation_tags
        where conversation_id = ?
        order by tagged_at desc limit 1
        """,
        [conversation_id],
    ).fetchone()


def test_bring_forward_restores_setting(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tag_table(connection)
    default = ("offline", "cascade", "v4")
    static = ("offline", "static", "v4")
    claude = ("claude", "haiku", "v3")
    # c1: default, then static. c2: default only. c3: static only.
    # c4: default, then claude (a hybrid escalation), then static.
    _insert_tag(connection, "c1", default, "2026-01-01 00:00:00+00")
    _insert_tag(connection, "c1", static, "2026-01-02 00:00:00+00")
    _insert_tag(connection, "c2", default, "2026-01-01 00:00:00+00")
    _insert_tag(connection, "c3", static, "2026-01-02 00:00:00+00")
    _insert_tag(connection, "c4", default, "2026-01-01 00:00:00+00")
    _insert_tag(connection, "c4", claude, "2026-01-01 01:00:00+00")
    _insert_tag(connection, "c4", static, "2026-01-02 00:00:00+00")

    assert bring_forward(connection, [claude, default]) == 2
    assert _newest_key(connection, "c1") == default
    assert _newest_key(connection, "c2") == default
    assert _newest_key(connection, "c3") == static
    assert _newest_key(connection, "c4") == claude, "order among the setting's rows is kept"
    assert bring_forward(connection, [claude, default]) == 0
    assert bring_forward(connection, [static]) == 2
    assert _newest_key(connection, "c1") == static
    assert _newest_key(connection, "c4") == static
    connection.close()


def test_bring_forward_ignores_failed_rows(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tag_table(connection)
    default = ("offline", "cascade", "v4")
    claude = ("claude", "haiku", "v3")
    _insert_tag(connection, "c1", default, "2026-01-01 00:00:00+00")
    _insert_tag(connection, "c1", claude, "2026-01-02 00:00:00+00")
    connection.execute(
        "update raw.conversation_tags set status = 'failed' where backend = 'claude'"
    )
    assert bring_forward(connection, [default]) == 0
    with pytest.raises(ValueError, match="done_by needs at least one"):
        bring_forward(connection, [])
    connection.close()


def test_batches_carry_user_turns_in_order(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(connection)
    ensure_tag_table(connection)
    connection.execute("insert into raw.conversations (source, conversation_id) values ('s', 'a')")
    connection.execute(
        """
        insert into raw.messages values
            ('s', 'a', 2, 'user', 'second'),
            ('s', 'a', 0, 'user', 'first'),
            ('s', 'a', 1, 'assistant', 'reply')
        """
    )
    [batch] = list(untagged_batches(connection, "offline", "m", "v", batch_size=10))
    assert batch[0].user_turns == ("first", "second")
    assert batch[0].assistant_turns == ("reply",)
    connection.close()
