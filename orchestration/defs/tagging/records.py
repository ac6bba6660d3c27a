"""The tag record every backend fills, and the table that stores it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

INTERACTION_MODES = (
    "directive",
    "feedback_loop",
    "task_iteration",
    "learning",
    "validation",
    "none",
)


@dataclass(frozen=True)
class ConversationText:
    """The scrubbed text of one conversation, as a tagger reads it."""

    source: str
    conversation_id: str
    user_turns: tuple[str, ...]
    assistant_turns: tuple[str, ...]


@dataclass(frozen=True)
class TagRecord:
    """One conversation's tag: the same fields whichever backend produced it."""

    source: str
    conversation_id: str
    backend: str
    model: str
    prompt_version: str
    is_occupational: bool
    task_id: int | None
    interaction_mode: str
    confidence: float


def ensure_tag_table(connection: duckdb.DuckDBPyConnection) -> None:
    """Create raw.conversation_tags if absent."""
    connection.execute("create schema if not exists raw")
    connection.execute(
        """
        create table if not exists raw.conversation_tags (
            source varchar not null,
            conversation_id varchar not null,
            backend varchar not null,
            model varchar not null,
            prompt_version varchar not null,
            is_occupational boolean not null,
            task_id bigint,
            interaction_mode varchar not null,
            confidence double,
            tagged_at timestamptz not null default current_timestamp,
            primary key (source, conversation_id, backend, model, prompt_version)
        )
        """
    )
