"""Write parsed conversations and rejected records into DuckDB's raw schema."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.defs.conversations.parse import Conversation, Message, Rejected

logger = logging.getLogger(__name__)

_TABLE_STATEMENTS = (
    """
    create table if not exists raw.conversations (
        source varchar not null,
        conversation_id varchar not null,
        account_id varchar,
        created_at timestamptz,
        message_count integer,
        user_turn_count integer,
        source_file varchar,
        content_sha256 varchar,
        loaded_at timestamptz,
        primary key (source, conversation_id)
    )
    """,
    """
    create table if not exists raw.messages (
        source varchar not null,
        conversation_id varchar not null,
        message_index integer not null,
        role varchar not null,
        content varchar,
        primary key (source, conversation_id, message_index)
    )
    """,
    """
    create table if not exists raw.quarantine (
        source_file varchar not null,
        record_index bigint not null,
        reason varchar not null,
        excerpt varchar,
        quarantined_at timestamptz,
        primary key (source_file, record_index)
    )
    """,
)

# current_timestamp is the start of the batch's transaction, so a batch shares one time.
_INSERT_CONVERSATIONS = """
    insert into raw.conversations
    select
        cast(source as varchar),
        cast(conversation_id as varchar),
        cast(account_id as varchar),
        cast(created_at as timestamptz),
        cast(message_count as integer),
        cast(user_turn_count as integer),
        cast(source_file as varchar),
        cast(content_sha256 as varchar),
        current_timestamp
    from batch_conversations
"""
_INSERT_MESSAGES = """
    insert into raw.messages
    select
        cast(source as varchar),
        cast(conversation_id as varchar),
        cast(message_index as integer),
        cast(role as varchar),
        cast(content as varchar)
    from batch_messages
"""
_INSERT_QUARANTINE = """
    insert into raw.quarantine
    select
        cast(source_file as varchar),
        cast(record_index as bigint),
        cast(reason as varchar),
        cast(excerpt as varchar),
        current_timestamp
    from batch_quarantine
"""


@dataclass(frozen=True)
class LoadStats:
    """Record counts of one load: read == loaded + already_loaded + quarantined."""

    source_file: str
    read: int
    loaded: int
    already_loaded: int
    quarantined: int


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema raw and tables conversations, messages and quarantine if absent."""
    con.execute("create schema if not exists raw")
    for statement in _TABLE_STATEMENTS:
        con.execute(statement)


def content_sha256(messages: Sequence[Message]) -> str:
    """Return the SHA-256 hex digest of the messages as compact, sorted-key JSON."""
    canonical = json.dumps(
        [{"role": message.role, "content": message.content} for message in messages],
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_conversations(
    con: duckdb.DuckDBPyConnection,
    items: Iterable[Conversation | Rejected],
    source_file: str,
    batch_size: int = 1000,
) -> LoadStats:
    """Insert conversations, messages and rejected records, one transaction per batch.

    A conversation whose (source, conversation_id) is already stored, by an earlier load
    or earlier in the same file, counts as already_loaded and is not written again. If
    its content differs, a warning is logged. Rejected records go to raw.quarantine under
    source_file and count as quarantined whether or not their row was already there.
    The caller's connection must not have a transaction open.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    ensure_tables(con)
    counts = _LoadCounts()
    batch: list[Conversation | Rejected] = []
    batch_number = 0
    for item in items:
        if not isinstance(item, Conversation | Rejected):
            raise TypeError(f"expected Conversation or Rejected, got {type(item).__name__}")
        batch.append(item)
        if len(batch) >= batch_size:
            batch_number += 1
            _write_batch(con, batch, source_file, counts)
            _log_progress(source_file, batch_number, counts)
            batch = []
    if batch:
        batch_number += 1
        _write_batch(con, batch, source_file, counts)
        _log_progress(source_file, batch_number, counts)

    stats = LoadStats(
        source_file=source_file,
        read=counts.read,
        loaded=counts.loaded,
        already_loaded=counts.already_loaded,
        quarantined=counts.quarantined,
    )
    assert stats.read == stats.loaded + stats.already_loaded + stats.quarantined, stats
    return stats


@dataclass
class _LoadCounts:
    read: int = 0
    loaded: int = 0
    already_loaded: int = 0
    quarantined: int = 0


def _log_progress(source_file: str, batch_number: int, counts: _LoadCounts) -> None:
    logger.info(
        "%s: batch %d committed, %d read, %d loaded, %d already loaded, %d quarantined so far",
        source_file,
        batch_number,
        counts.read,
        counts.loaded,
        counts.already_loaded,
        counts.quarantined,
    )


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: list[Conversation | Rejected],
    source_file: str,
    counts: _LoadCounts,
) -> None:
    conversations = [item for item in batch if isinstance(item, Conversation)]
    rejects = [item for item in batch if isinstance(item, Rejected)]
    con.execute("begin transaction")
    try:
        loaded = _insert_conversations(con, conversations, source_file)
        _insert_quarantine(con, rejects, source_file)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    # Counts change only after the commit, so a failed batch leaves them as they were.
    counts.read += len(batch)
    counts.loaded += loaded
    counts.already_loaded += len(conversations) - loaded
    counts.quarantined += len(rejects)


def _insert_conversations(
    con: duckdb.DuckDBPyConnection, conversations: list[Conversation], source_file: str
) -> int:
    """Insert the conversations not yet stored and return how many were inserted."""
    if not conversations:
        return 0
    digests = [content_sha256(conversation.messages) for conversation in conversations]
    keys = pd.DataFrame(
        {
            "source": [conversation.source for conversation in conversations],
            "conversation_id": [conversation.conversation_id for conversation in conversations],
        }
    )
    stored_digests = _stored_digests(con, keys)

    new_conversations: list[Conversation] = []
    new_digests: list[str] = []
    changed_ids: list[str] = []
    for conversation, digest in zip(conversations, digests, strict=True):
        key = (conversation.source, conversation.conversation_id)
        if key in stored_digests:
            if stored_digests[key] != digest:
                changed_ids.append(conversation.conversation_id)
            continue
        # Recording the key here makes a repeat later in the same batch count as stored.
        stored_digests[key] = digest
        new_conversations.append(conversation)
        new_digests.append(digest)

    if changed_ids:
        logger.warning(
            "%s: %d conversations already loaded with different content were kept as "
            "stored, first id %s",
            source_file,
            len(changed_ids),
            changed_ids[0],
        )
    if not new_conversations:
        return 0

    conversation_frame = _conversation_frame(new_conversations, new_digests, source_file)
    message_frame = _message_frame(new_conversations)
    _insert_frame(con, "batch_conversations", conversation_frame, _INSERT_CONVERSATIONS)
    _insert_frame(con, "batch_messages", message_frame, _INSERT_MESSAGES)
    return len(new_conversations)


def _stored_digests(
    con: duckdb.DuckDBPyConnection, keys: pd.DataFrame
) -> dict[tuple[str, str], str | None]:
    con.register("batch_keys", keys)
    try:
        rows = con.execute(
            """
            select stored.source, stored.conversation_id, stored.content_sha256
            from raw.conversations as stored
            join (select distinct source, conversation_id from batch_keys) as batch
                using (source, conversation_id)
            """
        ).fetchall()
    finally:
        con.unregister("batch_keys")
    return {(source, conversation_id): digest for source, conversation_id, digest in rows}


def _conversation_frame(
    conversations: list[Conversation], digests: list[str], source_file: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": [conversation.source for conversation in conversations],
            "conversation_id": [conversation.conversation_id for conversation in conversations],
            "account_id": pd.Series(
                [conversation.account_id for conversation in conversations], dtype=object
            ),
            "created_at": pd.Series(
                [conversation.created_at for conversation in conversations],
                dtype="datetime64[us, UTC]",
            ),
            "message_count": [len(conversation.messages) for conversation in conversations],
            "user_turn_count": [
                sum(message.role == "user" for message in conversation.messages)
                for conversation in conversations
            ],
            "source_file": source_file,
            "content_sha256": digests,
        }
    )


def _message_frame(conversations: list[Conversation]) -> pd.DataFrame:
    rows = [
        (conversation.source, conversation.conversation_id, index, message.role, message.content)
        for conversation in conversations
        for index, message in enumerate(conversation.messages)
    ]
    columns = ["source", "conversation_id", "message_index", "role", "content"]
    return pd.DataFrame.from_records(rows, columns=columns)


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, rejects: list[Rejected], source_file: str
) -> None:
    if not rejects:
        return
    stored = {
        record_index
        for (record_index,) in con.execute(
            "select record_index from raw.quarantine where source_file = ?"
            " and record_index between ? and ?",
            [
                source_file,
                min(reject.record_index for reject in rejects),
                max(reject.record_index for reject in rejects),
            ],
        ).fetchall()
    }
    rows = []
    for reject in rejects:
        if reject.record_index in stored:
            continue
        stored.add(reject.record_index)
        rows.append((source_file, reject.record_index, reject.reason, reject.excerpt))
    if not rows:
        return
    columns = ["source_file", "record_index", "reason", "excerpt"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    _insert_frame(con, "batch_quarantine", frame, _INSERT_QUARANTINE)


def _insert_frame(
    con: duckdb.DuckDBPyConnection, view_name: str, frame: pd.DataFrame, statement: str
) -> None:
    con.register(view_name, frame)
    try:
        con.execute(statement)
    finally:
        con.unregister(view_name)
