"""Ingestion settings: the inbox, the public samples, accounts and original text."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.defs.conversations.accounts import account_hash_key


class Ingestion(dg.ConfigurableResource):
    """Ingestion settings: conversation sources and storage; unset fields use the environment."""

    # Folder of the user's own exports; CONVERSATION_INBOX when unset.
    inbox_dir: str | None = None
    # The real public conversation samples that `make run` measures.
    load_public_samples: bool = True
    # The small invented exports in samples/exports/, one per supported format.
    load_format_samples: bool = True
    # Keep unscrubbed text in raw.message_originals; KEEP_ORIGINAL_TEXT when unset.
    keep_original_text: bool | None = None
    # Days before originals are purged; ORIGINAL_TEXT_RETENTION_DAYS (30) when unset.
    original_text_retention_days: int | None = None

    def resolved_inbox(self) -> Path | None:
        configured = self.inbox_dir or settings.conversation_inbox()
        return Path(configured) if configured else None

    def resolved_keep_original_text(self) -> bool:
        if self.keep_original_text is None:
            return settings.keep_original_text()
        return self.keep_original_text

    def resolved_retention_days(self) -> int:
        if self.original_text_retention_days is None:
            return settings.original_text_retention_days()
        return self.original_text_retention_days

    def account_key(self) -> bytes:
        """Return the secret for hashing account ids (ACCOUNT_HASH_KEY, or a kept key file)."""
        return account_hash_key(key_file=settings.account_key_file())
