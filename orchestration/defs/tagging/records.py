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
# Interaction mode to collaboration pattern, as in seeds/interaction_modes.csv.
COLLABORATION = {
    "directive": "automation",
    "feedback_loop": "automation",
    "task_iteration": "augmentation",
    "learning": "augmentation",
    "validation": "augmentation",
    "none": "none",
}


TAG_STATUSES = ("tagged", "failed", "untagged")

TAG_COLUMNS_ADDED = (
    ("language", "varchar"),
    ("summary", "varchar"),
    ("status", "varchar default 'tagged'"),
    ("status_reason", "varchar"),
    ("trimmed", "boolean default false"),
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
    # O*NET skill element ids (such as "2.A.1.a") the AI shows; empty when not tagged.
    skills: tuple[str, ...] = ()
    # ISO 639-1 code of the conversation's language, when detected.
    language: str | None = None
    # A one- or two-sentence request summary with no identifying detail (Clio's facet).
    summary: str | None = None
    # "tagged", "failed" (the backend returned no usable result) or "untagged" (the backend
    # did not try, such as for a language it cannot read). Only "tagged" rows reach the marts.
    status: str = "tagged"
    status_reason: str | None = None
    # True when the conversation was cut to fit the model's context window.
    trimmed: bool = False


def ensure_tag_table(connection: duckdb.DuckDBPyConnection) -> None:
    """Create raw.conversation_tags and raw.conversation_skills if absent."""
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
    # Columns added after the first release; a warehouse made before gains them here.
    for column, column_type in TAG_COLUMNS_ADDED:
        connection.execute(
            f"alter table raw.conversation_tags add column if not exists {column} {column_type}"
        )
    connection.execute(
        """
        create table if not exists raw.conversation_skills (
            source varchar not null,
            conversation_id varchar not null,
            backend varchar not null,
            model varchar not null,
            prompt_version varchar not null,
            skill_id varchar not null,
            primary key (source, conversation_id, backend, model, prompt_version, skill_id)
        )
        """
    )
