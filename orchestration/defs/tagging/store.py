"""Reading conversations to tag from the warehouse and writing their tag records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb

from orchestration.defs.tagging.records import ConversationText, TagRecord

# (backend, model, prompt_version) of the tag rows that count a conversation as done.
TaggerKey = tuple[str, str, str]


def untagged_keys(
    connection: duckdb.DuckDBPyConnection,
    done_by: Sequence[TaggerKey],
    batch_size: int,
) -> Iterator[list[tuple[str, str]]]:
    """Yield pages of (source, conversation_id) with no tag row from any tagger in done_by.

    Pages by key so that each query reads at most one batch, whatever the table's size.
    """
    if not done_by:
        raise ValueError("done_by needs at least one (backend, model, prompt_version)")
    matches = " or ".join(
        "(tags.backend = ? and tags.model = ? and tags.prompt_version = ?)" for _ in done_by
    )
    parameters = [value for key in done_by for value in key]
    last_key: tuple[str, str] = ("", "")
    while True:
        keys = connection.execute(
            f"""
            select conversations.source, conversations.conversation_id
            from raw.conversations as conversations
            where (conversations.source, conversations.conversation_id) > (?, ?)
                and not exists (
                    select 1
                    from raw.conversation_tags as tags
                    where tags.source = conversations.source
                        and tags.conversation_id = conversations.conversation_id
                        and ({matches})
                )
            order by conversations.source, conversations.conversation_id
            limit ?
            """,
            [*last_key, *parameters, batch_size],
        ).fetchall()
        if not keys:
            return
        last_key = keys[-1]
        yield keys


def _matches(done_by: Sequence[TaggerKey], alias: str) -> str:
    """Return a SQL condition, with one ? per value, that a row of `alias` is from done_by."""
    key_match = f"({alias}.backend = ? and {alias}.model = ? and {alias}.prompt_version = ?)"
    return " or ".join(key_match for _ in done_by)


def bring_forward(connection: duckdb.DuckDBPyConnection, done_by: Sequence[TaggerKey]) -> int:
    """Make these taggers' rows the newest again where another tagger's row is newer.

    Staging counts the newest tagged row of each conversation. After a run with another
    setting, this setting's rows are older, and a rerun skips them as done, so without
    this the other setting's tags would keep counting. Each conversation's rows from
    `done_by` move forward by the same interval, which keeps their order among themselves
    (a hybrid run's Claude row stays newer than the offline row it replaced). Returns how
    many conversations moved.
    """
    if not done_by:
        raise ValueError("done_by needs at least one (backend, model, prompt_version)")
    parameters = [value for key in done_by for value in key]
    connection.execute(
        f"""
        create or replace temporary table tags_to_bring_forward as
        with flagged as (
            select source, conversation_id, tagged_at, ({_matches(done_by, "tags")}) as is_ours
            from raw.conversation_tags as tags
            where coalesce(status, 'tagged') = 'tagged'
        ),
        latest as (
            select
                source,
                conversation_id,
                max(case when is_ours then tagged_at end) as ours_latest,
                max(case when not is_ours then tagged_at end) as others_latest
            from flagged
            group by source, conversation_id
        )
        select
            source,
            conversation_id,
            others_latest - ours_latest + interval 1 second as shift
        from latest
        where ours_latest is not null and others_latest >= ours_latest
        """,
        parameters,
    )
    moved = connection.execute("select count(*) from tags_to_bring_forward").fetchone()[0]
    if moved:
        connection.execute(
            f"""
            update raw.conversation_tags as tags
            set tagged_at = tags.tagged_at + moving.shift
            from tags_to_bring_forward as moving
            where tags.source = moving.source
                and tags.conversation_id = moving.conversation_id
                and coalesce(tags.status, 'tagged') = 'tagged'
                and ({_matches(done_by, "tags")})
            """,
            parameters,
        )
    connection.execute("drop table tags_to_bring_forward")
    return int(moved)


def untagged_batches(
    connection: duckdb.DuckDBPyConnection,
    backend: str,
    model: str,
    prompt_version: str,
    batch_size: int,
    *,
    also_done_by: Sequence[TaggerKey] = (),
) -> Iterator[list[ConversationText]]:
    """Yield conversations with no tag from this backend, model and prompt version.

    A conversation with a tag row from one of the taggers in also_done_by is skipped too.
    """
    done_by = [(backend, model, prompt_version), *also_done_by]
    for keys in untagged_keys(connection, done_by, batch_size):
        yield read_texts(connection, keys)


def read_texts(
    connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> list[ConversationText]:
    """Return the scrubbed turns of the given conversations, in the order of keys."""
    connection.execute(
        "create or replace temporary table tagging_batch (source varchar, conversation_id varchar)"
    )
    connection.executemany("insert into tagging_batch values (?, ?)", keys)
    rows = connection.execute(
        """
        select messages.source, messages.conversation_id, messages.role, messages.content
        from raw.messages as messages
        inner join tagging_batch
            on messages.source = tagging_batch.source
            and messages.conversation_id = tagging_batch.conversation_id
        order by messages.source, messages.conversation_id, messages.message_index
        """
    ).fetchall()
    turns: dict[tuple[str, str], dict[str, list[str]]] = {
        key: {"user": [], "assistant": []} for key in keys
    }
    for source, conversation_id, role, content in rows:
        if role in ("user", "assistant"):
            turns[(source, conversation_id)][role].append(content or "")
    return [
        ConversationText(
            source=source,
            conversation_id=conversation_id,
            user_turns=tuple(turns[(source, conversation_id)]["user"]),
            assistant_turns=tuple(turns[(source, conversation_id)]["assistant"]),
        )
        for source, conversation_id in keys
    ]


def write_tags(connection: duckdb.DuckDBPyConnection, records: list[TagRecord]) -> None:
    """Insert tag records and their skills; a record already stored is left as it is."""
    if not records:
        return
    connection.executemany(
        """
        insert into raw.conversation_tags (
            source, conversation_id, backend, model, prompt_version,
            is_occupational, task_id, interaction_mode, confidence,
            language, summary, status, status_reason, trimmed
        )
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict do nothing
        """,
        [
            (
                record.source,
                record.conversation_id,
                record.backend,
                record.model,
                record.prompt_version,
                record.is_occupational,
                record.task_id,
                record.interaction_mode,
                record.confidence,
                record.language,
                record.summary,
                record.status,
                record.status_reason,
                record.trimmed,
            )
            for record in records
        ],
    )
    skills = [
        (
            record.source,
            record.conversation_id,
            record.backend,
            record.model,
            record.prompt_version,
            skill_id,
        )
        for record in records
        for skill_id in sorted(set(record.skills))
    ]
    if skills:
        connection.executemany(
            "insert into raw.conversation_skills values (?, ?, ?, ?, ?, ?) on conflict do nothing",
            skills,
        )
