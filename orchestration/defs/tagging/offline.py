"""Offline tagger: TF-IDF retrieval of task statements plus turn-structure rules.

It needs no key and no network, so it is the default and, for now, the only backend.
NOTE: it gets the SOC major group right on about one conversation in five (measured on
100 labelled conversations), so the pipeline flow's marts are not yet a measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from orchestration.defs.tagging.modes import classify_mode
from orchestration.defs.tagging.records import ConversationText, TagRecord

BACKEND = "offline"
MODEL = "tfidf-task-statements"
PROMPT_VERSION = "offline-v1"
# Cosine similarity below which a conversation is taken as not occupational. Chosen on a
# handful of everyday and work requests; an estimate, not a tuned value.
DEFAULT_MIN_SIMILARITY = 0.12
# Characters of user text read per conversation, so one pasted document cannot dominate.
MAX_USER_CHARS = 4000


@dataclass(frozen=True)
class TaskStatement:
    """One O*NET task statement with the occupation it belongs to."""

    task_id: int
    statement: str
    occupation_title: str


def normalise_statement(text: str) -> str:
    """Return the key under which identical statements of several occupations are one task."""
    return text.strip().lower()


class OfflineTagger:
    """TF-IDF index over task statements; built once per run and reused for every batch."""

    backend = BACKEND
    model = MODEL
    prompt_version = PROMPT_VERSION

    def __init__(
        self,
        statements: Sequence[TaskStatement],
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
    ) -> None:
        if not statements:
            raise ValueError("no task statements: load raw.onet_task_statements first")
        # Identical text in several occupations is one task; the lowest id represents it.
        unique: dict[str, TaskStatement] = {}
        for statement in sorted(statements, key=lambda item: item.task_id):
            unique.setdefault(normalise_statement(statement.statement), statement)
        self._tasks = list(unique.values())
        self._task_ids = np.array([task.task_id for task in self._tasks], dtype=np.int64)
        self._vectorizer = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1
        )
        documents = [f"{task.occupation_title}. {task.statement}" for task in self._tasks]
        self._matrix = self._vectorizer.fit_transform(documents)
        self.min_similarity = min_similarity

    @property
    def task_count(self) -> int:
        return len(self._tasks)

    def tag(self, conversations: Sequence[ConversationText]) -> list[TagRecord]:
        """Tag a batch of conversations with one sparse matrix product."""
        if not conversations:
            return []
        queries = [_user_text(conversation) for conversation in conversations]
        similarities = self._vectorizer.transform(queries) @ self._matrix.T
        best_columns = np.asarray(similarities.argmax(axis=1)).ravel()
        best_scores = np.asarray(similarities.max(axis=1).todense()).ravel()
        records = []
        for conversation, column, score in zip(conversations, best_columns, best_scores):
            is_occupational = bool(score >= self.min_similarity)
            mode = classify_mode(conversation.user_turns)
            records.append(
                TagRecord(
                    source=conversation.source,
                    conversation_id=conversation.conversation_id,
                    backend=self.backend,
                    model=self.model,
                    prompt_version=self.prompt_version,
                    is_occupational=is_occupational,
                    task_id=int(self._task_ids[column]) if is_occupational else None,
                    interaction_mode=mode,
                    confidence=round(float(score), 4),
                )
            )
        return records


def _user_text(conversation: ConversationText) -> str:
    # The first request describes the task best, so it counts twice.
    turns = conversation.user_turns
    text = " ".join((turns[0],) + turns) if turns else ""
    return text[:MAX_USER_CHARS]
