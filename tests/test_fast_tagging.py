"""The fast offline encoders: the group classifier of static vectors and the cascade."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from orchestration import settings
from orchestration.defs.tagging import embedding, semantic
from orchestration.defs.tagging import static_vectors as static_vectors_model
from orchestration.defs.tagging.labelled_examples import NOT_OCCUPATIONAL, load_examples
from orchestration.defs.tagging.offline import OfflineTagger
from orchestration.defs.tagging.records import ConversationText
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.tagging.semantic import (
    Candidate,
    CascadeScorer,
    Choice,
    GroupClassifier,
    SemanticScorer,
)
from tests.test_offline_tagger import STATEMENTS as OFFLINE_STATEMENTS
from tests.test_offline_tagger import needs_model

# The programmer, chef and dentist statements: one per SOC major group.
STATEMENTS = OFFLINE_STATEMENTS[:3]

CONVERSATIONS = [
    ConversationText(
        "test", "code", ("Write a Python function that merges two sorted lists.",), ()
    ),
    ConversationText("test", "menu", ("Plan a three-course dinner menu for twenty guests.",), ()),
    ConversationText("test", "teeth", ("My gums bleed when I brush; what could cause it?",), ()),
    ConversationText("test", "hello", ("hello there, how are you today?",), ()),
]


class FakeFastScorer:
    """Fast scorer whose group probabilities are fixed per conversation."""

    def __init__(
        self, probabilities: list[list[float]], collaboration: list[float] | None = None
    ) -> None:
        self.groups = ["15", "35", NOT_OCCUPATIONAL]
        self._probabilities = np.array(probabilities)
        # |P(automation) - P(augmentation)| per conversation; 1 leaves the group margin alone.
        self._collaboration = np.array(collaboration or [1.0] * len(probabilities))

    def encode_conversations(self, user_turns: Sequence[Sequence[str]]) -> np.ndarray:
        return np.zeros((len(user_turns), 2))

    def group_probabilities(self, queries: np.ndarray) -> np.ndarray:
        return self._probabilities[: len(queries)]

    def collaboration_margins(self, queries: np.ndarray, user_turns) -> np.ndarray:
        return self._collaboration[: len(queries)]

    def choices(self, queries, probabilities, user_turns) -> list[Choice]:
        return [
            Choice(self.groups[int(row.argmax())], 1, "directive", float(row.max()))
            for row in probabilities
        ]


class FakeFullScorer:
    """Transformer stand-in that records which conversations it scored."""

    def __init__(self, probabilities: list[float] | None = None) -> None:
        self.groups = ["15", "35", NOT_OCCUPATIONAL]
        self.requests: list[list[str]] = []
        self.fused: np.ndarray | None = None
        self._probabilities = np.array(probabilities or [0.0, 1.0, 0.0])

    def encode_conversations(self, user_turns: Sequence[Sequence[str]]) -> np.ndarray:
        self.requests.append([turns[0] for turns in user_turns])
        return np.zeros((len(user_turns), 2))

    def group_probabilities(self, queries: np.ndarray) -> np.ndarray:
        return np.tile(self._probabilities, (len(queries), 1))

    def choices(self, queries, probabilities, user_turns) -> list[Choice]:
        self.fused = probabilities
        return [
            Choice(self.groups[int(row.argmax())], 2, "learning", float(row.max()))
            for row in probabilities
        ]


def test_cascade_rescores_smallest_margins() -> None:
    fast = FakeFastScorer(
        [[0.9, 0.05, 0.05], [0.40, 0.39, 0.21], [0.7, 0.2, 0.1], [0.35, 0.33, 0.32]]
    )
    full = FakeFullScorer()
    cascade = CascadeScorer(fast, full, share=0.5, full_weight=1.0)
    choices = cascade.choose([("a",), ("b",), ("c",), ("d",)])
    assert full.requests == [["b", "d"]], "smallest margin first"
    assert [choice.interaction_mode for choice in choices] == [
        "directive",
        "learning",
        "directive",
        "learning",
    ]
    assert choices[1].soc_major_group == "35"
    assert cascade.escalated == 2


def test_cascade_rescores_close_collaboration() -> None:
    fast = FakeFastScorer(
        [[0.9, 0.05, 0.05], [0.40, 0.39, 0.21], [0.7, 0.2, 0.1], [0.8, 0.1, 0.1]],
        collaboration=[0.9, 0.8, 0.005, 0.6],
    )
    full = FakeFullScorer()
    cascade = CascadeScorer(fast, full, share=0.5, full_weight=1.0)
    cascade.choose([("a",), ("b",), ("c",), ("d",)])
    assert full.requests == [["c", "b"]], "a close automation/augmentation call escalates"


def test_cascade_share_zero_uses_fast_only() -> None:
    full = FakeFullScorer()
    cascade = CascadeScorer(FakeFastScorer([[0.5, 0.5, 0.0]]), full, share=0.0)
    [choice] = cascade.choose([("a",)])
    assert choice.soc_major_group == "15"
    assert full.requests == []
    assert cascade.escalated == 0


def test_cascade_rounds_share_per_batch() -> None:
    full = FakeFullScorer()
    cascade = CascadeScorer(FakeFastScorer([[0.6, 0.4, 0.0]] * 10), full, share=0.05)
    cascade.choose([("a",)] * 10)
    assert full.requests == [["a"]], "half a conversation rounds up to one"
    cascade.choose([("a",)] * 9)
    assert len(full.requests) == 1, "0.45 of a conversation rounds down to none"


def test_cascade_fuses_probabilities() -> None:
    fast = FakeFastScorer([[0.6, 0.4, 0.0]])
    full = FakeFullScorer([0.0, 0.8, 0.2])
    cascade = CascadeScorer(fast, full, share=1.0, full_weight=0.25)
    [choice] = cascade.choose([("a",)])
    assert full.fused is not None
    assert np.allclose(full.fused, [[0.45, 0.5, 0.05]])
    assert choice.soc_major_group == "35"


def test_cascade_keeps_fast_group_when_weighted() -> None:
    fast = FakeFastScorer([[0.9, 0.1, 0.0]])
    full = FakeFullScorer([0.3, 0.7, 0.0])
    [choice] = CascadeScorer(fast, full, share=1.0, full_weight=0.5).choose([("a",)])
    assert choice.soc_major_group == "15", "0.5 * 0.9 + 0.5 * 0.3 outweighs 0.5 * 0.1 + 0.5 * 0.7"


def test_cascade_rejects_different_groups() -> None:
    full = FakeFullScorer()
    full.groups = ["15", NOT_OCCUPATIONAL]
    with pytest.raises(ValueError, match="same groups"):
        CascadeScorer(FakeFastScorer([[1.0, 0.0, 0.0]]), full, share=0.1)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_cascade_rejects_invalid_share(share: float) -> None:
    with pytest.raises(ValueError, match="cascade share"):
        CascadeScorer(FakeFastScorer([[1.0, 0.0, 0.0]]), FakeFullScorer(), share=share)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings")


@needs_model
def test_group_classifier_learns_reference_groups(cache_dir: Path) -> None:
    candidates = [
        Candidate(item.task_id, item.statement, item.occupation_title, item.onet_soc_code[:2])
        for item in STATEMENTS
    ]
    scorer = SemanticScorer(candidates, load_examples(), cache_dir=cache_dir, static_vectors=True)
    classifier = GroupClassifier(scorer, scorer.groups)
    probabilities = classifier.predict_proba(scorer._task_vectors)
    assert probabilities.shape == (3, len(scorer.groups))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    predicted = [scorer.groups[int(row.argmax())] for row in probabilities]
    assert predicted == ["15", "35", "29"]


@needs_model
def test_cascade_tagger_at_full_share_matches_transformer(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic, "CASCADE_FULL_WEIGHT", 1.0)
    cascade = OfflineTagger(STATEMENTS, encoder="cascade", cache_dir=cache_dir, cascade_share=1.0)
    transformer = OfflineTagger(STATEMENTS, encoder="embedding", cache_dir=cache_dir)
    assert cascade.prompt_version == "offline-v4-cascade"
    assert cascade.model.startswith(static_vectors_model.MODEL_NAME + ", fused with")
    assert cascade.model.endswith("for every conversation")
    cascade_records = cascade.tag(CONVERSATIONS)
    transformer_records = transformer.tag(CONVERSATIONS)
    for mine, reference in zip(cascade_records, transformer_records):
        assert (mine.task_id, mine.interaction_mode) == (
            reference.task_id,
            reference.interaction_mode,
        ), mine.conversation_id
    assert cascade.run_stats()["transformer_rescored"] == len(CONVERSATIONS)
    assert "transformer_rescored" not in transformer.run_stats()


@needs_model
def test_cascade_tagger_at_zero_share_matches_static(cache_dir: Path) -> None:
    cascade = OfflineTagger(STATEMENTS, encoder="cascade", cache_dir=cache_dir, cascade_share=0.0)
    static = OfflineTagger(STATEMENTS, encoder="static", cache_dir=cache_dir)
    assert static.prompt_version == "offline-v4-static"
    cascade_records = cascade.tag(CONVERSATIONS)
    static_records = static.tag(CONVERSATIONS)
    assert [record.task_id for record in cascade_records] == [
        record.task_id for record in static_records
    ]
    assert cascade_records[0].task_id == 1
    assert cascade.run_stats()["transformer_rescored"] == 0


@needs_model
def test_cascade_transformer_reads_short_input(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cascade = OfflineTagger(STATEMENTS, encoder="cascade", cache_dir=cache_dir, cascade_share=1.0)
    original = embedding.encode
    limits: list[int] = []

    def recording_encode(texts, **options):
        limits.append(options.get("max_chars", embedding.MAX_CHARS))
        return original(texts, **options)

    monkeypatch.setattr(embedding, "encode", recording_encode)
    cascade.tag(CONVERSATIONS[:2])
    assert limits == [semantic.CASCADE_MAX_CHARS]
    assert semantic.CASCADE_MAX_CHARS < embedding.MAX_CHARS


@needs_model
def test_auto_encoder_is_fused_cascade(cache_dir: Path) -> None:
    tagger = OfflineTagger(STATEMENTS, encoder="auto", cache_dir=cache_dir)
    assert tagger.prompt_version == "offline-v4-cascade"
    assert embedding.MODEL_NAME in tagger.model
    assert tagger.model.endswith("least certain 60%")
    tagger.tag(CONVERSATIONS)
    # round(0.6 x 4) of the four conversations go to the transformer.
    assert tagger.run_stats()["transformer_rescored"] == 2


@needs_model
def test_lower_share_named_in_model(cache_dir: Path) -> None:
    tagger = OfflineTagger(STATEMENTS, encoder="auto", cache_dir=cache_dir, cascade_share=0.25)
    assert tagger.model.endswith("least certain 25%")


@pytest.mark.parametrize(
    ("value", "expected"), [("", None), ("0.25", 0.25), ("1", 1.0), (" 0 ", 0.0)]
)
def test_cascade_share_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected) -> None:
    monkeypatch.setenv(settings.ENV_TAGGING_CASCADE_SHARE, value)
    assert settings.tagging_cascade_share() == expected


@pytest.mark.parametrize("value", ["1.5", "-0.1", "half"])
def test_cascade_share_setting_rejects(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(settings.ENV_TAGGING_CASCADE_SHARE, value)
    with pytest.raises(ValueError, match="TAGGING_CASCADE_SHARE"):
        settings.tagging_cascade_share()


def test_resource_rejects_share_out_of_range() -> None:
    with pytest.raises(ValueError, match="cascade_share must be from 0 to 1"):
        Tagging(backend="offline", cascade_share=2.0)
