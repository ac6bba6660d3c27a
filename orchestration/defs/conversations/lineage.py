"""Find and delete every row that belongs to given conversations, across the raw schema.

A table belongs to the conversation lineage when it has both a `source` and a
`conversation_id` column, so tables added later (tag caches, embeddings) are covered
without being listed here.
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

logger = logging.getLogger(__name__)

BASE_TABLES = ("conversations", "messages")


def conversation_tables(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the raw tables keyed by (source, conversation_id), base tables first."""
    rows = connection.execute(
        """
        select table_name
        from information_schema.columns
        where table_schema = 'raw' and column_name in ('source', 'conversation_id')
        group by table_name
        having count(distinct column_name) = 2
        order by table_name
        """
    ).fetchall()
    names = [name for (name,) in rows]
    return [name for name in BASE_TABLES if name in names] + [
        name for name in names if name not in BASE_TABLES
    ]


def delete_conversations(
    connection: duckdb.DuckDBPyConnection,
    keys: pd.DataFrame,
    *,
    keep_base: bool = False,
) -> dict[str, int]:
    """Delete the rows of the given (source, conversation_id) keys; return rows per table.

    With keep_base the conversations and messages stay, and only what was derived from
    them (tags, caches) goes, as when a re-exported conversation replaces its old version.
    The caller owns the transaction.
    """
    if keys.empty:
        return {}
    deleted: dict[str, int] = {}
    connection.register("keys_to_delete", keys[["source", "conversation_id"]])
    try:
        for table in conversation_tables(connection):
            if keep_base and table in BASE_TABLES:
                continue
            count = connection.execute(
                f"""
                delete from raw.{table}
                where exists (
                    select 1
                    from keys_to_delete
                    where keys_to_delete.source = raw.{table}.source
                        and keys_to_delete.conversation_id = raw.{table}.conversation_id
                )
                """
            ).fetchone()
            deleted[table] = int(count[0]) if count else 0
    finally:
        connection.unregister("keys_to_delete")
    return deleted
