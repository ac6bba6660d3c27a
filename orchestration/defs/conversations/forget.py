"""Forget one account: delete its conversations and everything derived from them."""

from __future__ import annotations

import logging

import duckdb

from orchestration.defs.conversations.accounts import hash_account
from orchestration.defs.conversations.ledger import ensure_ledger
from orchestration.defs.conversations.lineage import delete_conversations
from orchestration.defs.conversations.load import ensure_tables

logger = logging.getLogger(__name__)

# Hashes made by hash_account start with this, so a hash can be given in place of an id.
HASH_PREFIX = "acct_"


def account_hash(account: str, key: bytes) -> str:
    """Return the stored form of an account: the keyed hash, or the value if already one."""
    return account if account.startswith(HASH_PREFIX) else hash_account(account, key)


def forget_account(connection: duckdb.DuckDBPyConnection, hashed_account: str) -> dict[str, int]:
    """Delete every row of the account's conversations and record it as forgotten.

    Returns rows deleted per table. Later loads skip the account's conversations, so an old
    export read again does not bring them back.
    """
    ensure_tables(connection)
    ensure_ledger(connection)
    keys = connection.execute(
        "select source, conversation_id from raw.conversations where account_id = ?",
        [hashed_account],
    ).df()
    connection.execute("begin transaction")
    try:
        deleted = delete_conversations(connection, keys)
        connection.execute(
            "insert or replace into raw.forgotten_accounts values (?, current_timestamp)",
            [hashed_account],
        )
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    logger.info(
        "forgot account %s: %d conversations, %s",
        hashed_account,
        len(keys),
        ", ".join(f"{count} rows from raw.{table}" for table, count in deleted.items()) or "none",
    )
    return deleted
