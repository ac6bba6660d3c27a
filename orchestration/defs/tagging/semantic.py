"""Embedding-based choice of SOC major group, task and interaction mode.

Two signals give each SOC major group a probability, and their average decides:

- task retrieval: the mean similarity of a conversation to the `TOP_TASKS` nearest task
  statements of each group, turned into probabilities with a softmax;
- example vote: the `TOP_EXAMPLES` nearest labelled examples, each weighted by how close it
  is, including examples with no occupational task.

With static word vectors a third signal joins them: a group classifier trained on the
task statements and examples (`GroupClassifier`). The task is then the nearest statement
of the chosen group, and a logistic regression trained on the examples' embeddings picks
the interaction mode. `CascadeScorer` scores with static vectors first and sends the least
certain part of each batch to a transformer scorer.

The constants below were chosen on the 100 labelled development conversations
(`make eval`); no conversation of that file is used to fit anything.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from orchestration.defs.tagging import embedding
from orchestration.defs.tagging.labelled_examples import NOT_OCCUPATIONAL, LabelledExample
from orchestration.defs.tagging.modes import TURN_FEATURES, turn_features
from orchestration.defs.tagging.records import COLLABORATION
from orchestration.defs.tagging.static_vectors import StaticEncoder

TOP_TASKS = 5
TOP_EXAMPLES = 10
# Softmax temperatures: e5 cosine similarities sit in a narrow band (about 0.7 to 0.9), so
# small differences must count.
TASK_TEMPERATURE = 0.01
EXAMPLE_TEMPERATURE = 0.03
# Share of the example vote in the final group probability.
EXAMPLE_WEIGHT = 0.5
# Inverse regularisation strength of the mode model. Cross-validation over the examples
# favours C of 8 or more.
MODE_MODEL_C = 8.0
# Scale of the turn-structure features next to the unit-length embedding in the mode
# model's input. Larger values let the turn structure count for more. Cross-validation
# over the examples scores 0.2 to 0.8 alike, and 0.5 did best on the development
# conversations.
TURN_FEATURE_WEIGHT = 0.5
# Floor of a feature's standard deviation when scaling it, so a feature almost always zero
# in the examples does not get a huge scale.
MIN_FEATURE_SCALE = 0.2
# Group classifier (static word vectors only): a logistic regression from a reference
# text's vector to its SOC major group, trained on the task statements and the examples.
# Its probabilities are mixed with those of retrieval and the vote at CLASSIFIER_WEIGHT.
# Static means of word vectors all lie close together (cosine about 0.98). The nearest
# neighbours therefore separate groups poorly, and a trained classifier finds the
# directions that do. On the development conversations it raised the static SOC major
# group accuracy from 39 % to 47 %. With the transformer it changed the accuracy by one
# conversation, so it is off there.
CLASSIFIER_WEIGHT = 0.5
# Inverse regularisation strength of the group classifier.
CLASSIFIER_C = 10.0
# Weight of each example next to a task statement in the classifier's training. The
# examples read like conversations and the statements do not, and with the usage prior
# there are about 8 times fewer of them.
CLASSIFIER_EXAMPLE_WEIGHT = 20.0
# Share of the transformer in the group probabilities of a conversation the cascade sends
# to it; the static scorer's probabilities make up the rest. The two make different errors.
# On the development conversations, fusing them for every conversation found the SOC major
# group 58 % to 63 % of the time for weights 0.55 to 0.8. The transformer alone found it
# 54 % of the time and static vectors 47 %.
CASCADE_FULL_WEIGHT = 0.7
# Characters of a conversation's first request that the cascade's transformer pass reads.
# The development requests average 43 tokens, so 300 characters cut few of them. At a
# share of 0.3 it raised the cascade from 129 to 149 conversations/s on an idle 2-core VM
# (one timing in a script), and SOC accuracy went from 56 % to 57 %.
CASCADE_MAX_CHARS = 300
# The first user turn is the query. A shorter one is joined with the next turns until the
# text reaches this many characters, because "hi" alone names no task.
MIN_QUERY_CHARS = 40


@dataclass(frozen=True)
class Candidate:
    """A task statement the tagger may return."""

    task_id: int
    statement: str
    occupation_title: str
    soc_major_group: str

    @property
    def document(self) -> str:
        """Text embedded for the task: its occupation's title, then the statement."""
        return f"{self.occupation_title}: {self.statement}"


@dataclass(frozen=True)
class Choice:
    """The scorer's result for one conversation."""

    soc_major_group: str
    task_id: int | None
    interaction_mode: str
    confidence: float


def query_text(user_turns: Sequence[str]) -> str:
    """Return the text embedded for a conversation: its first substantial user request."""
    parts: list[str] = []
    for turn in user_turns:
        if turn.strip():
            parts.append(turn.strip())
        if sum(len(part) for part in parts) >= MIN_QUERY_CHARS:
            break
    return "\n".join(parts)


def full_user_text(user_turns: Sequence[str]) -> str:
    """Return every user turn joined, the text static vectors read (cheap at any length)."""
    return "\n".join(turn.strip() for turn in user_turns if turn.strip())


def select_candidates(
    candidates: Sequence[Candidate],
    usage_shares: Mapping[str, float] | None,
    normalise,
) -> list[Candidate]:
    """Keep the tasks with a published usage share, or every task when none matches."""
    if not usage_shares:
        return list(candidates)
    used = [item for item in candidates if usage_shares.get(normalise(item.statement), 0.0) > 0]
    return used or list(candidates)


class SemanticScorer:
    """Task and example embeddings, the group index and the mode model, built once."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        examples: Sequence[LabelledExample],
        *,
        cache_dir: Path,
        static_vectors: bool = False,
        group_classifier: bool | None = None,
        query_max_chars: int = embedding.MAX_CHARS,
    ) -> None:
        if not candidates:
            raise ValueError("no candidate tasks to score")
        self._candidates = list(candidates)
        self._task_ids = np.array([item.task_id for item in self._candidates], dtype=np.int64)
        documents = [item.document for item in self._candidates]
        self._query_text = full_user_text if static_vectors else query_text
        # Characters of each conversation the transformer reads; reference texts always get
        # embedding.MAX_CHARS, so the embedding cache stays valid.
        self._query_max_chars = query_max_chars
        # The classifier is on by default for static vectors only (see CLASSIFIER_WEIGHT).
        self._use_classifier = static_vectors if group_classifier is None else group_classifier
        example_texts = [self._query_text(example.user_turns) for example in examples]
        self._static: StaticEncoder | None = None
        if static_vectors:
            self._static = StaticEncoder(documents + example_texts, cache_dir)
            self._task_vectors = self._static.encode(documents)
            example_vectors = self._static.encode(example_texts)
        else:
            self._task_vectors = embedding.cached_encode(documents, cache_dir, kind="passage")
            # Examples are compared with conversations, so both get the query prefix.
            example_vectors = embedding.cached_encode(example_texts, cache_dir, kind="query")
        self._fit_examples(list(examples), example_vectors)

    def with_extra_examples(self, examples: Sequence[LabelledExample]) -> SemanticScorer:
        """Return a scorer whose example vote and mode model also learn from `examples`.

        The task embeddings are shared. The extra examples (such as conversations tagged by
        Claude) are embedded here and never written to the embedding cache.
        """
        scorer = copy.copy(self)
        if not examples:
            return scorer
        vectors = self._encode([self._query_text(example.user_turns) for example in examples])
        scorer._fit_examples(
            [*self._examples, *examples], np.vstack([self._example_vectors, vectors])
        )
        return scorer

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._static is not None:
            return self._static.encode(texts)
        return embedding.encode(texts, kind="query", max_chars=self._query_max_chars)

    def _fit_examples(self, examples: list[LabelledExample], vectors: np.ndarray) -> None:
        self._examples = examples
        self._example_vectors = vectors
        task_groups = sorted({item.soc_major_group for item in self._candidates})
        example_groups = {example.soc_major_group for example in self._examples}
        self.groups = task_groups + sorted(example_groups - set(task_groups) - {NOT_OCCUPATIONAL})
        self.groups.append(NOT_OCCUPATIONAL)
        self._group_index = {group: index for index, group in enumerate(self.groups)}
        self._task_columns = {
            group: np.array(
                [i for i, item in enumerate(self._candidates) if item.soc_major_group == group]
            )
            for group in task_groups
        }
        self._example_groups = np.array(
            [self._group_index[example.soc_major_group] for example in self._examples]
        )
        self._group_classifier = (
            GroupClassifier(self, self.groups) if self._use_classifier else None
        )
        self._mode_model = ModeModel(self._example_vectors, self._examples)

    @property
    def task_count(self) -> int:
        return len(self._candidates)

    def choose(self, user_turns: Sequence[Sequence[str]]) -> list[Choice]:
        """Score a batch of conversations, given as their user turns."""
        if not user_turns:
            return []
        queries = self.encode_conversations(user_turns)
        return self.choices(queries, self.group_probabilities(queries), user_turns)

    def encode_conversations(self, user_turns: Sequence[Sequence[str]]) -> np.ndarray:
        """Embed the text this scorer reads from each conversation."""
        return self._encode([self._query_text(turns) for turns in user_turns])

    def group_probabilities(self, queries: np.ndarray) -> np.ndarray:
        """Return one probability per group in `groups` for each embedded conversation."""
        probabilities = EXAMPLE_WEIGHT * self._example_vote(queries) + (
            1 - EXAMPLE_WEIGHT
        ) * self._task_retrieval(queries)
        if self._group_classifier is not None:
            probabilities = (
                1 - CLASSIFIER_WEIGHT
            ) * probabilities + CLASSIFIER_WEIGHT * self._group_classifier.predict_proba(queries)
        return probabilities

    def choices(
        self,
        queries: np.ndarray,
        group_probabilities: np.ndarray,
        user_turns: Sequence[Sequence[str]],
    ) -> list[Choice]:
        """Turn group probabilities into a group, a task and a mode per conversation."""
        mode_probabilities = self._mode_model.predict_proba(queries, user_turns)
        mode_classes = self._mode_model.classes
        task_similarities = queries @ self._task_vectors.T
        choices = []
        for row, probabilities in enumerate(group_probabilities):
            group = self.groups[int(probabilities.argmax())]
            confidence = round(float(probabilities.max()), 4)
            if group == NOT_OCCUPATIONAL or not any(turn.strip() for turn in user_turns[row]):
                choices.append(Choice(NOT_OCCUPATIONAL, None, "none", confidence))
                continue
            task_id = None
            if group in self._task_columns:
                columns = self._task_columns[group]
                task_id = int(self._task_ids[columns[task_similarities[row, columns].argmax()]])
            ranked = np.argsort(-mode_probabilities[row])
            mode = next(str(mode_classes[i]) for i in ranked if mode_classes[i] != "none")
            choices.append(Choice(group, task_id, mode, confidence))
        return choices

    def collaboration_margins(
        self, queries: np.ndarray, user_turns: Sequence[Sequence[str]]
    ) -> np.ndarray:
        """Return |P(automation) - P(augmentation)| of each conversation's mode."""
        probabilities = self._mode_model.predict_proba(queries, user_turns)
        sides = np.array(
            [COLLABORATION.get(str(mode), "none") for mode in self._mode_model.classes]
        )
        automation = probabilities[:, sides == "automation"].sum(axis=1)
        augmentation = probabilities[:, sides == "augmentation"].sum(axis=1)
        return np.abs(automation - augmentation)

    def _task_retrieval(self, queries: np.ndarray) -> np.ndarray:
        similarities = queries @ self._task_vectors.T
        scores = np.full((len(queries), len(self.groups)), -np.inf, dtype=np.float64)
        for group, columns in self._task_columns.items():
            top = min(TOP_TASKS, len(columns))
            nearest = np.partition(similarities[:, columns], -top, axis=1)[:, -top:]
            scores[:, self._group_index[group]] = nearest.mean(axis=1)
        return _softmax(scores, TASK_TEMPERATURE)

    def _example_vote(self, queries: np.ndarray) -> np.ndarray:
        similarities = queries @ self._example_vectors.T
        top = min(TOP_EXAMPLES, similarities.shape[1])
        nearest = np.argpartition(-similarities, top - 1, axis=1)[:, :top]
        votes = np.zeros((len(queries), len(self.groups)), dtype=np.float64)
        for row in range(len(queries)):
            values = similarities[row, nearest[row]]
            weights = np.exp((values - values.max()) / EXAMPLE_TEMPERATURE)
            np.add.at(votes[row], self._example_groups[nearest[row]], weights)
        return votes / votes.sum(axis=1, keepdims=True)


class CascadeScorer:
    """Static word vectors for every conversation, the transformer for the least certain.

    In each batch, the `share` of conversations with the smallest margin, either between the
    fast scorer's two most likely groups or between its automation and augmentation
    probabilities, is scored again by the transformer scorer. Their group
    probabilities become `full_weight` times the transformer's plus the rest times the fast
    scorer's, and the transformer scorer picks the task and mode. A batch of n conversations
    sends round(share * n) of them, so the cost per batch is bounded whatever the text.
    """

    def __init__(
        self,
        fast: SemanticScorer,
        full: SemanticScorer,
        share: float,
        full_weight: float | None = None,
    ) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"cascade share must be between 0 and 1, got {share}")
        if full_weight is None:
            full_weight = CASCADE_FULL_WEIGHT
        if not 0.0 <= full_weight <= 1.0:
            raise ValueError(f"cascade full_weight must be between 0 and 1, got {full_weight}")
        if list(fast.groups) != list(full.groups):
            raise ValueError("the cascade's two scorers must score the same groups")
        self.fast = fast
        self.full = full
        self.share = share
        self.full_weight = full_weight
        self.escalated = 0

    @property
    def task_count(self) -> int:
        return self.full.task_count

    def with_extra_examples(self, examples: Sequence[LabelledExample]) -> CascadeScorer:
        """Return a cascade whose two scorers both also learn from `examples`."""
        return CascadeScorer(
            self.fast.with_extra_examples(examples),
            self.full.with_extra_examples(examples),
            self.share,
            self.full_weight,
        )

    def choose(self, user_turns: Sequence[Sequence[str]]) -> list[Choice]:
        """Score a batch with the fast scorer, then its least certain part with the transformer."""
        if not user_turns:
            return []
        queries = self.fast.encode_conversations(user_turns)
        probabilities = self.fast.group_probabilities(queries)
        count = int(self.share * len(user_turns) + 0.5)
        ranked = np.sort(probabilities, axis=1)
        margins = ranked[:, -1] - ranked[:, -2] if ranked.shape[1] > 1 else ranked[:, -1]
        if count < len(user_turns):
            # A conversation whose automation-or-augmentation call is close goes to the
            # transformer too, because its mode model is the more accurate one.
            margins = np.minimum(margins, self.fast.collaboration_margins(queries, user_turns))
        order = np.argsort(margins, kind="stable")
        uncertain, certain = order[:count], np.sort(order[count:])

        # The fast scorer picks task and mode only for the conversations it keeps, so a
        # share of 1 runs the mode model once per conversation, not twice.
        choices: list[Choice | None] = [None] * len(user_turns)
        if len(certain):
            kept = [user_turns[row] for row in certain]
            fast_choices = self.fast.choices(queries[certain], probabilities[certain], kept)
            for row, choice in zip(certain, fast_choices):
                choices[int(row)] = choice
        if count:
            subset = [user_turns[row] for row in uncertain]
            full_queries = self.full.encode_conversations(subset)
            fused = (
                self.full_weight * self.full.group_probabilities(full_queries)
                + (1 - self.full_weight) * probabilities[uncertain]
            )
            for row, choice in zip(uncertain, self.full.choices(full_queries, fused, subset)):
                choices[int(row)] = choice
            self.escalated += count
        return choices


class GroupClassifier:
    """Logistic regression from a reference text's vector to its SOC major group.

    It is trained on the scorer's task statements and examples only, never on conversations.
    Vectors are centred on the mean of the training vectors first.
    """

    def __init__(self, scorer: SemanticScorer, groups: Sequence[str]) -> None:
        vectors = np.vstack([scorer._task_vectors, scorer._example_vectors])
        labels = [item.soc_major_group for item in scorer._candidates] + [
            example.soc_major_group for example in scorer._examples
        ]
        weights = np.concatenate(
            [
                np.ones(len(scorer._candidates)),
                np.full(len(scorer._examples), CLASSIFIER_EXAMPLE_WEIGHT),
            ]
        )
        self._mean = vectors.mean(axis=0)
        self._model = LogisticRegression(C=CLASSIFIER_C, max_iter=3000)
        self._model.fit(vectors - self._mean, labels, sample_weight=weights)
        index = {group: column for column, group in enumerate(groups)}
        self._columns = np.array([index[str(group)] for group in self._model.classes_])
        self._group_count = len(groups)

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Return one probability per scorer group; groups with no training text get 0."""
        output = np.zeros((len(vectors), self._group_count), dtype=np.float64)
        output[:, self._columns] = self._model.predict_proba(vectors - self._mean)
        return output


class ModeModel:
    """Logistic regression over an embedding joined with turn-structure features.

    Each feature is divided by its standard deviation over the training examples, so a rare
    but telling feature (a pasted error in a later turn) is not drowned by the 384
    embedding columns. `TURN_FEATURE_WEIGHT` then sets the share of the turn structure.
    """

    def __init__(self, vectors: np.ndarray, examples: Sequence[LabelledExample]) -> None:
        features = _turn_matrix([example.user_turns for example in examples])
        self._scale = np.maximum(features.std(axis=0), MIN_FEATURE_SCALE)
        self._model = LogisticRegression(C=MODE_MODEL_C, max_iter=5000)
        self._model.fit(
            self._inputs(vectors, features), [example.interaction_mode for example in examples]
        )
        self.classes = [str(mode) for mode in self._model.classes_]

    def predict_proba(self, vectors: np.ndarray, user_turns: Sequence[Sequence[str]]) -> np.ndarray:
        """Return one probability per mode in `classes` for each conversation."""
        return self._model.predict_proba(self._inputs(vectors, _turn_matrix(user_turns)))

    def _inputs(self, vectors: np.ndarray, features: np.ndarray) -> np.ndarray:
        return np.hstack([vectors, TURN_FEATURE_WEIGHT * features / self._scale])


def _turn_matrix(user_turns: Sequence[Sequence[str]]) -> np.ndarray:
    rows = [turn_features(tuple(turns)) for turns in user_turns]
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(TURN_FEATURES))


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    shifted = (scores - scores.max(axis=1, keepdims=True)) / temperature
    weights = np.exp(shifted)
    return weights / weights.sum(axis=1, keepdims=True)
