"""Tagging asset: each loaded conversation gets an O*NET task and an interaction mode."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

from collections import Counter
from collections.abc import Iterator

import dagster as dg
import duckdb

from orchestration.defs.tagging.records import ConversationText, TagRecord, ensure_tag_table
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

GROUP = "tagging"
# The claude and replay backends read these tables. Dagster accepts the keys before the
# assets that build them are defined; it then shows them as external assets.
HIERARCHY_DEPS = [dg.AssetKey(["raw", "task_hierarchy"]), dg.AssetKey(["raw", "onet_skills"])]


def untagged_batches(
    connection: duckdb.DuckDBPyConnection,
    backend: str,
    model: str,
    prompt_version: str,
    batch_size: int,
) -> Iterator[list[ConversationText]]:
    """Yield conversations with no tag from this backend, model and prompt version.

    Pages by key so that each query reads at most one batch, whatever the table's size.
    """
    last_key: tuple[str, str] = ("", "")
    while True:
        keys = connection.execute(
            """
            select conversations.source, conversations.conversation_id
            from raw.conversations as conversations
            where (conversations.source, conversations.conversation_id) > (?, ?)
                and not exists (
                    select 1
                    from raw.conversation_tags as tags
                    where tags.source = conversations.source
                        and tags.conversation_id = conversations.conversation_id
                        and tags.backend = ?
                        and tags.model = ?
                        and tags.prompt_version = ?
                )
            order by conversations.source, conversations.conversation_id
            limit ?
            """,
            [*last_key, backend, model, prompt_version, batch_size],
        ).fetchall()
        if not keys:
            return
        last_key = keys[-1]
        yield _read_texts(connection, keys)


def _read_texts(
    connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> list[ConversationText]:
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


@dg.asset(
    key=dg.AssetKey(["raw", "conversation_tags"]),
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[
        dg.AssetKey(["raw", "conversations"]),
        dg.AssetKey(["raw", "messages"]),
        dg.AssetKey(["raw", "onet_task_statements"]),
        *HIERARCHY_DEPS,
        # The offline tagger's usage prior reads the published task shares.
        dg.AssetKey(["raw", "aei_task_mappings"]),
    ],
)
def conversation_tags(
    context: dg.AssetExecutionContext, tagging: Tagging, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One tag per conversation: occupational or not, O*NET task, interaction mode.

    Conversations already tagged by the same backend, model and prompt version are skipped.
    """
    modes: Counter[str] = Counter()
    tagged = occupational = failed = 0
    with warehouse.connect() as connection:
        ensure_tag_table(connection)
        tagger = tagging.build_tagger(connection, log=context.log.info)
        context.log.info(
            "tagging with %s backend over %d tasks", tagging.backend, tagger.task_count
        )
        for batch in untagged_batches(
            connection,
            tagger.backend,
            tagger.model,
            tagger.prompt_version,
            tagging.batch_size,
        ):
            if getattr(tagger, "exhausted", False):
                context.log.info("budget reached: the remaining conversations stay untagged")
                break
            records = tagger.tag(batch)
            connection.execute("begin transaction")
            write_tags(connection, records)
            connection.execute("commit")
            tagged += len(records)
            occupational += sum(record.is_occupational for record in records)
            modes.update(record.interaction_mode for record in records)
            failed += sum(record.status == "failed" for record in records)
            context.log.info("tagged %d conversations so far", tagged)
        total = connection.execute("select count(*) from raw.conversation_tags").fetchone()[0]

    usage = tagger.usage_metadata() if hasattr(tagger, "usage_metadata") else {}
    context.log.info(
        "tagged %d new conversations (%d occupational, %d failed)", tagged, occupational, failed
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "backend": tagging.backend,
            "model": tagger.model,
            "prompt_version": tagger.prompt_version,
            "tagged_this_run": tagged,
            "occupational_this_run": occupational,
            "modes_this_run": dg.MetadataValue.json(dict(modes)),
            "failed_this_run": failed,
            **usage,
        }
    )
