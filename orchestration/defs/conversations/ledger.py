"""Bookkeeping of ingestion: which file was ingested on which day, and forgotten accounts."""

from __future__ import annotations

from datetime import date

import duckdb

from orchestration.defs.conversations.load import LoadStats

_STATEMENTS = (
    """
    create table if not exists raw.ingested_files (
        path varchar not null,
        sha256 varchar not null,
        size_bytes bigint,
        source varchar,
        ingested_on date not null,
        records_read bigint,
        loaded bigint,
        updated bigint,
        already_loaded bigint,
        quarantined bigint,
        ingested_at timestamptz,
        primary key (path, sha256)
    )
    """,
    # Keyed hashes of accounts whose data was deleted on request, so that re-reading an old
    # export does not bring them back.
    """
    create table if not exists raw.forgotten_accounts (
        account_id varchar primary key,
        forgotten_at timestamptz
    )
    """,
)


def ensure_ledger(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the ledger tables if absent."""
    connection.execute("create schema if not exists raw")
    for statement in _STATEMENTS:
        connection.execute(statement)


def ingestion_day(connection: duckdb.DuckDBPyConnection, path: str, sha256: str) -> date | None:
    """Return the day this exact file was first ingested, or None if it never was."""
    row = connection.execute(
        "select min(ingested_on) from raw.ingested_files where path = ? and sha256 = ?",
        [path, sha256],
    ).fetchone()
    return row[0] if row else None


def record_ingestion(
    connection: duckdb.DuckDBPyConnection,
    *,
    sha256: str,
    size_bytes: int,
    source: str,
    ingested_on: date,
    stats: LoadStats,
) -> None:
    """Store or refresh the ledger row of one file ingested on one day."""
    connection.execute(
        """
        insert or replace into raw.ingested_files
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)
        """,
        [
            stats.source_file,
            sha256,
            size_bytes,
            source,
            ingested_on,
            stats.read,
            stats.loaded,
            stats.updated,
            stats.already_loaded,
            stats.quarantined,
        ],
    )


def forgotten_accounts(connection: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Return the keyed hashes of every forgotten account."""
    rows = connection.execute("select account_id from raw.forgotten_accounts").fetchall()
    return frozenset(account_id for (account_id,) in rows)
