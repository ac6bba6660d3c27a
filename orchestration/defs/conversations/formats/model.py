"""Records that the readers yield: conversations, their messages, and rejected records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Message:
    """One turn of a conversation, with scrubbed content."""

    role: str  # "user", "assistant" or "system"
    content: str
    # The cleaned text before scrubbing, set only by read_conversations(keep_originals=True).
    original: str | None = None


@dataclass(frozen=True)
class Conversation:
    """One parsed conversation, ready to load."""

    source: str
    conversation_id: str
    messages: tuple[Message, ...]
    account_id: str | None
    created_at: datetime | None  # timezone-aware UTC
    # Time of the last change in the exporting service, timezone-aware UTC. The loader
    # compares it to decide whether a re-export replaces the stored copy.
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Rejected:
    """A record that could not become a conversation, and the reason."""

    source_file: str
    # 1-based line number for JSON Lines, 1-based position for a JSON array.
    record_index: int
    reason: str
    excerpt: str  # at most EXCERPT_MAX_CHARS characters of the record, scrubbed


class RecordError(ValueError):
    """Raised with the reason why a record cannot become a conversation."""
