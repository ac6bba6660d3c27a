"""The raw tables of the clustering stage; each per-conversation table carries the key.

raw.conversation_facets, raw.summary_embeddings and raw.cluster_memberships have `source`
and `conversation_id`, so forgetting an account deletes their rows too.
"""

from __future__ import annotations

import duckdb

TABLES = (
    """
    create table if not exists raw.conversation_facets (
        source varchar not null,
        conversation_id varchar not null,
        summary varchar not null,
        language varchar,
        turn_count integer,
        summary_method varchar not null,
        built_at timestamptz not null default current_timestamp,
        primary key (source, conversation_id)
    )
    """,
    """
    create table if not exists raw.summary_embeddings (
        source varchar not null,
        conversation_id varchar not null,
        embedder varchar not null,
        text_sha256 varchar not null,
        embedding float[] not null,
        primary key (source, conversation_id, embedder)
    )
    """,
    """
    create table if not exists raw.clusters (
        cluster_id varchar not null primary key,
        level integer not null,
        parent_cluster_id varchar,
        published_parent_id varchar,
        name varchar,
        description varchar,
        conversation_count bigint not null,
        account_count bigint not null,
        is_published boolean not null,
        suppression_reason varchar,
        embedder varchar not null,
        namer varchar not null,
        auditor varchar not null,
        built_at timestamptz not null default current_timestamp
    )
    """,
    """
    create table if not exists raw.cluster_memberships (
        source varchar not null,
        conversation_id varchar not null,
        level integer not null,
        cluster_id varchar not null,
        primary key (source, conversation_id, level)
    )
    """,
)


def ensure_cluster_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("create schema if not exists raw")
    for statement in TABLES:
        connection.execute(statement)
