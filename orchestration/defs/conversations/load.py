"""Write parsed conversations and rejected records into DuckDB's raw schema."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from orchestration.defs.conversations.accounts import hash_account
from orchestration.defs.conversations.lineage import delete_conversations
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
        updated_at timestamptz,
        ingested_on date,
        primary key (source, conversation_id)
    )
    """,
    # Warehouses built before these columns existed gain them here.
    "alter table raw.conversations add column if not exists updated_at timestamptz",
    "alter table raw.conversations add column if not exists ingested_on date",
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
    # Unscrubbed text, written only when the user opts in; nothing downstream reads it.
    """
    create table if not exists raw.message_originals (
        source varchar not null,
        conversation_id varchar not null,
        message_index integer not null,
        content varchar,
        stored_at timestamptz,
        primary key (source, conversation_id, message_index)
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
        current_timestamp,
        cast(updated_at as timestamptz),
        cast(ingested_on as date)
    from batch_conversations
"""
_INSERT_ORIGINALS = """
    insert into raw.message_originals
    select
        cast(source as varchar),
        cast(conversation_id as varchar),
        cast(message_index as integer),
        cast(content as varchar),
        current_timestamp
    from batch_originals
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
    """Record counts of one load: read == loaded + updated + already_loaded + quarantined."""

    source_file: str
    read: int
    loaded: int
    already_loaded: int
    quarantined: int
    # Conversations stored before whose newer export replaced them.
    updated: int = 0
    # Conversations of forgotten accounts, read and dropped.
    forgotten: int = 0


@dataclass(frozen=True)
class LoadOptions:
    """Load settings for accounts, original text and the ingestion date."""

    # Secret for the keyed hash that replaces account ids; raw ids are never stored.
    account_key: bytes
    # The day the run ingests for, stored on every new or replaced conversation.
    ingested_on: date | None = None
    # Keep the unscrubbed text in raw.message_originals (opt-in; see purge_originals).
    keep_originals: bool = False
    # Keyed hashes of accounts whose conversations must not be stored again.
    forgotten_accounts: frozenset[str] = frozenset()


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
    *,
    options: LoadOptions,
) -> LoadStats:
    """Insert conversations, messages and rejected records, one transaction per batch.

    A conversation whose (source, conversation_id) is already stored with the same content
    counts as already_loaded. With different content, the newer export wins. It replaces
    the stored one, and everything derived from it such as tags, when its updated_at is
    later, or, without timestamps, when it has more messages. Otherwise the stored one
    stays. Rejected records go to raw.quarantine under source_file and count as quarantined
    whether or not their row was already there. The caller's connection must not have a
    transaction open.
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
            _write_batch(con, batch, source_file, counts, options)
            _log_progress(source_file, batch_number, counts)
            batch = []
    if batch:
        batch_number += 1
        _write_batch(con, batch, source_file, counts, options)
        _log_progress(source_file, batch_number, counts)

    stats = LoadStats(
        source_file=source_file,
        read=counts.read,
        loaded=counts.loaded,
        already_loaded=counts.already_loaded,
        quarantined=counts.quarantined,
        updated=counts.updated,
        forgotten=counts.forgotten,
    )
    accounted = (
        stats.loaded + stats.updated + stats.already_loaded + stats.quarantined + stats.forgotten
    )
    assert stats.read == accounted, stats
    return stats


def purge_originals(con: duckdb.DuckDBPyConnection, retention_days: int) -> int:
    """Delete unscrubbed originals older than the retention period; return rows deleted."""
    ensure_tables(con)
    deleted = con.execute(
        """
        delete from raw.message_originals
        where stored_at < current_timestamp - to_days(cast(? as integer))
        """,
        [retention_days],
    ).fetchone()
    return int(deleted[0]) if deleted else 0


@dataclass
class _LoadCounts:
    read: int = 0
    loaded: int = 0
    already_loaded: int = 0
    quarantined: int = 0
    updated: int = 0
    forgotten: int = 0


def _log_progress(source_file: str, batch_number: int, counts: _LoadCounts) -> None:
    logger.info(
        "%s: batch %d committed, %d read, %d loaded, %d updated, %d already loaded, "
        "%d quarantined so far",
        source_file,
        batch_number,
        counts.read,
        counts.loaded,
        counts.updated,
        counts.already_loaded,
        counts.quarantined,
    )


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: list[Conversation | Rejected],
    source_file: str,
    counts: _LoadCounts,
    options: LoadOptions,
) -> None:
    conversations = [item for item in batch if isinstance(item, Conversation)]
    rejects = [item for item in batch if isinstance(item, Rejected)]
    kept = [item for item in conversations if not _is_forgotten(item, options)]
    forgotten = len(conversations) - len(kept)
    conversations = kept
    con.execute("begin transaction")
    try:
        loaded, updated = _insert_conversations(con, conversations, source_file, options)
        _insert_quarantine(con, rejects, source_file)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    # Counts change only after the commit, so a failed batch leaves them as they were.
    counts.read += len(batch)
    counts.loaded += loaded
    counts.updated += updated
    counts.already_loaded += len(conversations) - loaded - updated
    counts.quarantined += len(rejects)
    counts.forgotten += forgotten


def _is_forgotten(conversation: Conversation, options: LoadOptions) -> bool:
    if conversation.account_id is None or not options.forgotten_accounts:
        return False
    return hash_account(conversation.account_id, options.account_key) in options.forgotten_accounts


@dataclass(frozen=True)
class _StoredVersion:
    digest: str | None
    updated_at: datetime | None
    message_count: int


def _is_newer(conversation: Conversation, stored: _StoredVersion) -> bool:
    """Tell whether an export of a stored conversation should replace it."""
    if conversation.updated_at is not None and stored.updated_at is not None:
        return conversation.updated_at > stored.updated_at
    if conversation.updated_at is not None:
        return True
    return len(conversation.messages) > stored.message_count


def _insert_conversations(
    con: duckdb.DuckDBPyConnection,
    conversations: list[Conversation],
    source_file: str,
    options: LoadOptions,
) -> tuple[int, int]:
    """Insert new conversations, replace outdated ones; return (inserted, replaced)."""
    if not conversations:
        return 0, 0
    digests = [content_sha256(conversation.messages) for conversation in conversations]
    stored_versions = _stored_versions(con, _key_frame(conversations))

    to_write: list[Conversation] = []
    to_write_digests: list[str] = []
    replaced: list[Conversation] = []
    kept_ids: list[str] = []
    for conversation, digest in zip(conversations, digests, strict=True):
        key = (conversation.source, conversation.conversation_id)
        stored = stored_versions.get(key)
        if stored is not None and (stored.digest == digest or not _is_newer(conversation, stored)):
            if stored.digest != digest:
                kept_ids.append(conversation.conversation_id)
            continue
        if stored is not None:
            replaced.append(conversation)
        # Recording the version here makes a repeat later in the same batch compare with it.
        stored_versions[key] = _StoredVersion(
            digest, conversation.updated_at, len(conversation.messages)
        )
        to_write.append(conversation)
        to_write_digests.append(digest)

    if kept_ids:
        logger.info(
            "%s: %d conversations already loaded from a newer or longer export were kept "
            "as stored, first id %s",
            source_file,
            len(kept_ids),
            kept_ids[0],
        )
    if not to_write:
        return 0, 0

    # A replaced conversation leaves no old message, tag or cache entry behind.
    delete_conversations(con, _key_frame(to_write))
    conversation_frame = _conversation_frame(to_write, to_write_digests, source_file, options)
    message_frame = _message_frame(to_write)
    _insert_frame(con, "batch_conversations", conversation_frame, _INSERT_CONVERSATIONS)
    _insert_frame(con, "batch_messages", message_frame, _INSERT_MESSAGES)
    if options.keep_originals:
        _insert_frame(con, "batch_originals", _original_frame(to_write), _INSERT_ORIGINALS)
    replaced_keys = {(item.source, item.conversation_id) for item in replaced}
    return len(to_write) - len(replaced_keys), len(replaced_keys)


def _key_frame(conversations: list[Conversation]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": [conversation.source for conversation in conversations],
            "conversation_id": [conversation.conversation_id for conversation in conversations],
        }
    ).drop_duplicates()


def _stored_versions(
    con: duckdb.DuckDBPyConnection, keys: pd.DataFrame
) -> dict[tuple[str, str], _StoredVersion]:
    con.register("batch_keys", keys)
    try:
        rows = con.execute(
            """
            select
                stored.source,
                stored.conversation_id,
                stored.content_sha256,
                stored.updated_at,
                stored.message_count
            from raw.conversations as stored
            join batch_keys using (source, conversation_id)
            """
        ).fetchall()
    finally:
        con.unregister("batch_keys")
    return {
        (source, conversation_id): _StoredVersion(digest, updated_at, message_count or 0)
        for source, conversation_id, digest, updated_at, message_count in rows
    }


def _conversation_frame(
    conversations: list[Conversation],
    digests: list[str],
    source_file: str,
    options: LoadOptions,
) -> pd.DataFrame:
    account_ids = [
        None
        if conversation.account_id is None
        else hash_account(conversation.account_id, options.account_key)
        for conversation in conversations
    ]
    return pd.DataFrame(
        {
            "source": [conversation.source for conversation in conversations],
            "conversation_id": [conversation.conversation_id for conversation in conversations],
            "account_id": pd.Series(account_ids, dtype=object),
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
            "updated_at": pd.Series(
                [conversation.updated_at for conversation in conversations],
                dtype="datetime64[us, UTC]",
            ),
            "ingested_on": pd.Series([options.ingested_on] * len(conversations), dtype=object),
        }
    )


def _original_frame(conversations: list[Conversation]) -> pd.DataFrame:
    rows = [
        (conversation.source, conversation.conversation_id, index, message.original)
        for conversation in conversations
        for index, message in enumerate(conversation.messages)
        if message.original is not None
    ]
    columns = ["source", "conversation_id", "message_index", "content"]
    return pd.DataFrame.from_records(rows, columns=columns)


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
