"""Content-addressed store of model responses, and the batches still being processed.

Every row carries `source` and `conversation_id`, so forgetting an account deletes its
cached responses and batch items with the rest of its rows (see conversations/lineage.py).
A response shared by two conversations with identical text is stored once per conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from orchestration.defs.llm.client import canonical_json
from orchestration.defs.llm.pricing import Usage


@dataclass(frozen=True)
class CacheEntry:
    """One stored response with its usage and cost."""

    response: dict
    usage: Usage
    cost_usd: float


def ensure_cache_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create raw.llm_cache, raw.llm_batches and raw.llm_batch_items if absent."""
    connection.execute("create schema if not exists raw")
    connection.execute(
        """
        create table if not exists raw.llm_cache (
            cache_key varchar not null,
            source varchar not null,
            conversation_id varchar not null,
            request_hash varchar not null,
            purpose varchar not null,
            model varchar not null,
            prompt_version varchar not null,
            hierarchy_version varchar,
            response_json varchar not null,
            input_tokens bigint not null,
            output_tokens bigint not null,
            cache_creation_input_tokens bigint not null,
            cache_read_input_tokens bigint not null,
            cost_usd double not null,
            via_batch boolean not null,
            created_at timestamptz not null default current_timestamp,
            primary key (cache_key, source, conversation_id)
        )
        """
    )
    connection.execute(
        """
        create table if not exists raw.llm_batches (
            batch_id varchar primary key,
            purpose varchar not null,
            request_count integer not null,
            status varchar not null,
            submitted_at timestamptz not null default current_timestamp,
            results_stored_at timestamptz
        )
        """
    )
    connection.execute(
        """
        create table if not exists raw.llm_batch_items (
            batch_id varchar not null,
            custom_id varchar not null,
            cache_key varchar not null,
            request_hash varchar not null,
            source varchar not null,
            conversation_id varchar not null,
            purpose varchar not null,
            state varchar not null,
            error_json varchar,
            primary key (batch_id, custom_id, source, conversation_id)
        )
        """
    )


def lookup(connection: duckdb.DuckDBPyConnection, cache_key: str) -> CacheEntry | None:
    """Return the stored response for a cache key, from whichever conversation stored it."""
    row = connection.execute(
        """
        select response_json, input_tokens, output_tokens,
            cache_creation_input_tokens, cache_read_input_tokens, cost_usd
        from raw.llm_cache
        where cache_key = ?
        order by created_at desc
        limit 1
        """,
        [cache_key],
    ).fetchone()
    if row is None:
        return None
    response_json, input_tokens, output_tokens, created, read, cost = row
    usage = Usage(input_tokens, output_tokens, created, read)
    return CacheEntry(json.loads(response_json), usage, cost)


def lookup_by_request_hash(
    connection: duckdb.DuckDBPyConnection, request_hash: str
) -> dict | None:
    """Return a stored response for a request body's hash, for the replay backend."""
    row = connection.execute(
        "select response_json from raw.llm_cache where request_hash = ? limit 1",
        [request_hash],
    ).fetchone()
    return json.loads(row[0]) if row else None


@dataclass(frozen=True)
class CacheOwner:
    """The conversation a request belongs to, and what the request is for."""

    source: str
    conversation_id: str
    purpose: str


def store(
    connection: duckdb.DuckDBPyConnection,
    *,
    cache_key: str,
    request_hash: str,
    owners: Iterable[CacheOwner],
    model: str,
    prompt_version: str,
    hierarchy_version: str | None,
    response: dict,
    cost_usd: float,
    via_batch: bool,
) -> None:
    """Store one response for every conversation that sent the same request.

    A later response for the same key and conversation replaces the earlier one, which is
    how a retried invalid answer takes the place of the first.
    """
    usage = Usage.from_response(response)
    response_json = canonical_json(response)
    connection.executemany(
        """
        insert or replace into raw.llm_cache (
            cache_key, source, conversation_id, request_hash, purpose, model,
            prompt_version, hierarchy_version, response_json, input_tokens, output_tokens,
            cache_creation_input_tokens, cache_read_input_tokens, cost_usd, via_batch
        )
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            (
                cache_key,
                owner.source,
                owner.conversation_id,
                request_hash,
                owner.purpose,
                model,
                prompt_version,
                hierarchy_version,
                response_json,
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_creation_input_tokens,
                usage.cache_read_input_tokens,
                cost_usd,
                via_batch,
            )
            for owner in owners
        ],
    )
