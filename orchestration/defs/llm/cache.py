"""Content-addressed store of model responses, and the batches still being processed.

Every row carries `source` and `conversation_id`, so forgetting an account deletes its
cached responses and batch items with the rest of its rows (see conversations/lineage.py).
A response shared by two conversations with identical text is stored once per conversation.

A request that carries a group of conversations gets one row per conversation. Each row
holds only that conversation's slice of the response: its entries in the tool input, and an
equal share of the usage and cost. So forgetting one conversation leaves nothing of it in the
rows of the others. merge_slices rebuilds the group's response from the slices for replay.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
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
    # Added with grouped requests; warehouses created before them get the columns here.
    connection.execute("alter table raw.llm_batch_items add column if not exists item_index integer")
    connection.execute("alter table raw.llm_batch_items add column if not exists answer_key varchar")


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
    """Return the response to a request body's hash, merged from its slices, for replay."""
    rows = connection.execute(
        """
        select cache_key, any_value(response_json)
        from raw.llm_cache
        where request_hash = ?
        group by cache_key
        order by cache_key
        """,
        [request_hash],
    ).fetchall()
    if not rows:
        return None
    return merge_slices([json.loads(response_json) for _, response_json in rows])


def _is_indexed_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(entry, dict) and "index" in entry for entry in value
    )


def slice_response(response: dict, index: int, position: int, count: int) -> dict:
    """Return the part of a group response that belongs to one conversation index.

    Tool inputs keep only the entries with that index. Each usage count is split into
    `count` near-equal shares, and `position` picks this slice's share, so the shares of
    all slices add up to the group's usage.
    """
    part = copy.deepcopy(response)
    for block in part.get("content") or []:
        if block.get("type") != "tool_use" or not isinstance(block.get("input"), dict):
            continue
        for key, value in block["input"].items():
            if _is_indexed_list(value):
                block["input"][key] = [entry for entry in value if entry["index"] == index]
    usage = part.get("usage")
    if isinstance(usage, dict):
        for key, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                usage[key] = value // count + (1 if position < value % count else 0)
    return part


def merge_slices(slices: Sequence[dict]) -> dict:
    """Rebuild a group response from its slices: indexed entries joined, usage summed."""
    merged = copy.deepcopy(slices[0])
    for part in slices[1:]:
        for block, other in zip(merged.get("content") or [], part.get("content") or []):
            if block.get("type") != "tool_use" or not isinstance(block.get("input"), dict):
                continue
            for key, value in block["input"].items():
                extra = (other.get("input") or {}).get(key)
                if _is_indexed_list(value) and _is_indexed_list(extra):
                    value.extend(extra)
        usage, other_usage = merged.get("usage"), part.get("usage") or {}
        if isinstance(usage, dict):
            for key, value in usage.items():
                if isinstance(value, int) and isinstance(other_usage.get(key), int):
                    usage[key] = value + other_usage[key]
    for block in merged.get("content") or []:
        if block.get("type") == "tool_use" and isinstance(block.get("input"), dict):
            for key, value in block["input"].items():
                if _is_indexed_list(value):
                    block["input"][key] = sorted(value, key=lambda entry: entry["index"])
    return merged


@dataclass(frozen=True)
class CacheOwner:
    """The conversation a request belongs to, and what the request is for."""

    source: str
    conversation_id: str
    purpose: str
    # Set for a request that carries a group of conversations: the conversation's index in
    # the request, and the key its slice of the response is stored under.
    item_index: int | None = None
    answer_key: str | None = None


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
    how a retried invalid response takes the place of the first.
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
