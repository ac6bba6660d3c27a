"""The hybrid backend: Claude tags a sample, the offline tagger learns from it, against a fake API."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import httpx2
import pytest

from orchestration.defs.conversations.load import ensure_tables
from orchestration.defs.tagging import embedding
from orchestration.defs.tagging.assets import conversation_tags
from orchestration.defs.tagging.hybrid import (
    HELD_BACK,
    TRAIN,
    HybridTagger,
    LearningSettings,
    compared_fields,
)
from orchestration.defs.tagging.labelled_examples import LabelledExample
from orchestration.defs.tagging.records import ensure_tag_table
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.tagging.store import read_texts
from orchestration.defs.warehouse.resource import Warehouse
from tests.fake_claude import (
    CURRENT,
    FakeClaude,
    FakeClaudeTagging,
    conversation_text,
    conversations,
    is_task_call,
    message,
    seed_reference,
    summary_for,
    task_choices,
    tool_use,
)
from tests.graph import materialization_metadata

pytestmark = pytest.mark.skipif(
    not embedding.available(), reason="the hybrid backend learns with the embedding encoder"
)

# Task statements with the ids of the fake hierarchy, so Claude's tasks have a SOC code.
STATEMENTS = [
    (101, "Write, update, and maintain computer programs.", "Computer Programmers", "15-1251.00"),
    (102, "Correct errors by making code changes.", "Computer Programmers", "15-1251.00"),
    (
        401,
        "Plan menus and recipes for banquets and daily meals.",
        "Chefs and Head Cooks",
        "35-1011.00",
    ),
]
CODING = [
    "Write a Python function that {} and add unit tests.",
    "My JavaScript code that {} throws a TypeError, can you fix it?",
]
COOKING = [
    "Plan a dinner menu with recipes for {}.",
    "Suggest a weekly meal plan and shopping list for {}.",
]
CODING_ITEMS = [
    "parses CSV files",
    "merges two sorted lists",
    "sends an email report",
    "resizes images in a folder",
    "reads a JSON config",
    "retries failed HTTP requests",
]
COOKING_ITEMS = [
    "a family of four",
    "a vegetarian birthday party",
    "twenty wedding guests",
    "a school canteen",
    "a low-salt diet",
    "a summer barbecue",
]
GREETINGS = [
    "hello, how are you today?",
    "hello there, nice to meet you",
    "hello! what is your favourite colour?",
    "hello, are you a robot?",
]


def fixture_texts() -> dict[str, str]:
    texts = {}
    for template_index, template in enumerate(CODING):
        for item_index, item in enumerate(CODING_ITEMS):
            texts[f"code-{template_index}-{item_index}"] = template.format(item)
    for template_index, template in enumerate(COOKING):
        for item_index, item in enumerate(COOKING_ITEMS):
            texts[f"cook-{template_index}-{item_index}"] = template.format(item)
    for index, greeting in enumerate(GREETINGS):
        texts[f"chat-{index}"] = greeting
    return texts


def topic_answer(body: dict) -> dict:
    """Respond as Claude might: cooking under the second middle group (learning), code under
    the first (directive), greetings as not occupational."""
    if is_task_call(body):
        entries = [
            {"index": index, "task_id": tasks[0]} for index, tasks in task_choices(body).items()
        ]
        return message([tool_use("record_tasks", {"tasks": entries})])
    properties = body["tools"][0]["input_schema"]["properties"]["conversations"]["items"][
        "properties"
    ]
    tops = [value for value in properties["top_group"]["enum"] if value != "none"]
    middles = [value for value in properties["middle_group"]["enum"] if value != "none"]
    entries = []
    for index, text in conversations(body).items():
        lowered = text.lower()
        if "hello" in lowered:
            occupational, top, middle, mode = False, "none", "none", "none"
        elif "menu" in lowered or "meal" in lowered:
            occupational, top, middle, mode = True, tops[-1], middles[1], "learning"
        else:
            occupational, top, middle, mode = True, tops[0], middles[0], "directive"
        entries.append(
            {
                "index": index,
                "is_occupational": occupational,
                "top_group": top,
                "middle_group": middle,
                "interaction_mode": mode,
                "skills": ["2.A.1.a"],
                "summary": summary_for(text),
                "language": "en",
            }
        )
    return message([tool_use("record_screen", {"conversations": entries})])


class TopicClaude(FakeClaude):
    def _message(self, body: dict) -> httpx2.Response:
        return httpx2.Response(200, json=topic_answer(body))


def seed_warehouse(path: Path) -> None:
    connection = duckdb.connect(str(path))
    try:
        ensure_tables(connection)
        ensure_tag_table(connection)
        seed_reference(connection)
        connection.execute(
            """
            create table raw.onet_task_statements (
                task_id bigint, task_statement varchar, occupation_title varchar,
                onet_soc_code varchar
            )
            """
        )
        connection.executemany(
            "insert into raw.onet_task_statements values (?, ?, ?, ?)", STATEMENTS
        )
        for conversation_id, text in fixture_texts().items():
            connection.execute(
                "insert into raw.conversations (source, conversation_id) values ('s', ?)",
                [conversation_id],
            )
            connection.execute(
                "insert into raw.messages values ('s', ?, 0, 'user', ?)", [conversation_id, text]
            )
            connection.execute(
                "insert into raw.messages values ('s', ?, 1, 'assistant', 'Sure.')",
                [conversation_id],
            )
    finally:
        connection.close()


def hybrid_resource(**overrides) -> Tagging:
    settings = {
        "backend": "hybrid",
        "api_key": "test-key",
        "concurrency": 1,
        "batch_threshold": None,
        "batch_size": 7,
        "encoder": "embedding",
        "use_usage_prior": False,
        "learn_sample_fraction": 0.5,
        "learn_held_back_fraction": 0.4,
        "escalate_below": 1.5,
        "max_escalations": 3,
        # One conversation per request keeps the call counts below per conversation;
        # grouping has its own tests.
        "group_size": 1,
    }
    settings.update(overrides)
    return FakeClaudeTagging(**settings)


def materialize(warehouse: Path, tagging: Tagging, fake: FakeClaude) -> dict:
    CURRENT["fake"] = fake
    result = dg.materialize(
        [conversation_tags],
        resources={"tagging": tagging, "warehouse": Warehouse(path=str(warehouse))},
    )
    assert result.success
    return materialization_metadata(result, ["raw", "conversation_tags"])


def query(warehouse: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def parts(settings: LearningSettings) -> dict[str, str | None]:
    return {key: settings.part("s", key) for key in fixture_texts()}


def expected_agreement(warehouse: Path, tagging: Tagging) -> dict[str, float]:
    """Recompute the held-back agreement from the stored Claude rows, through the public API."""
    split = parts(tagging.learning_settings())
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        claude = {
            row[0]: row[1:]
            for row in connection.execute(
                """
                select conversation_id, is_occupational, task_id, interaction_mode
                from raw.conversation_tags where backend = 'claude'
                """
            ).fetchall()
        }
        codes = {task_id: code for task_id, _, _, code in STATEMENTS}
        groups = {task_id: code[:2] for task_id, code in codes.items()}
        train_keys = sorted(key for key, part in split.items() if part == TRAIN)
        held_back_keys = sorted(key for key, part in split.items() if part == HELD_BACK)
        examples = []
        for conversation in read_texts(connection, [("s", key) for key in train_keys]):
            occupational, task_id, mode = claude[conversation.conversation_id]
            examples.append(
                LabelledExample(
                    conversation.user_turns,
                    task_id if occupational else None,
                    codes[task_id] if occupational else None,
                    mode,
                )
            )
        offline = hybrid_resource()._build_offline(connection).with_extra_examples(examples)
        records = offline.tag(read_texts(connection, [("s", key) for key in held_back_keys]))
    finally:
        connection.close()
    matches = dict.fromkeys(("soc_major_group", "task", "interaction_mode", "collaboration"), 0)
    for record in records:
        occupational, task_id, mode = claude[record.conversation_id]
        expected = compared_fields(occupational, task_id, mode, groups)
        actual = compared_fields(
            record.is_occupational, record.task_id, record.interaction_mode, groups
        )
        for measure in matches:
            matches[measure] += expected[measure] == actual[measure]
    return {f"agreement_{name}": round(count / len(records), 4) for name, count in matches.items()}


@pytest.fixture
def warehouse(workspace: Path) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / "warehouse.duckdb"
    seed_warehouse(path)
    return path


def test_sample_split_is_stable() -> None:
    settings = LearningSettings(0.5, 0.4, 0.5, None)
    first = parts(settings)
    assert first == parts(settings)
    sample = [key for key, part in first.items() if part is not None]
    held_back = [key for key, part in first.items() if part == HELD_BACK]
    # 28 conversations: a share of 0.5 should land well inside 6..22.
    assert 6 <= len(sample) <= 22
    assert 0 < len(held_back) < len(sample)
    smaller = parts(LearningSettings(0.25, 0.4, 0.5, None))
    # A smaller fraction keeps a subset of the sample.
    assert {key for key, part in smaller.items() if part} <= set(sample)


def test_hybrid_run_tags_sample_then_rest(warehouse: Path) -> None:
    tagging = hybrid_resource()
    fake = TopicClaude()
    metadata = materialize(warehouse, tagging, fake)

    split = parts(tagging.learning_settings())
    train = sorted(key for key, part in split.items() if part == TRAIN)
    held_back = sorted(key for key, part in split.items() if part == HELD_BACK)
    rest = sorted(key for key, part in split.items() if part is None)
    assert metadata["learn_train"] == len(train)
    assert metadata["learn_held_back"] == len(held_back)
    assert metadata["learn_sample_tagged"] == len(train) + len(held_back)
    assert metadata["learn_examples"] == len(train)

    rows = query(
        warehouse,
        """
        select conversation_id, backend, prompt_version, is_occupational
        from raw.conversation_tags order by conversation_id
        """,
    )
    claude_rows = {row[0]: row for row in rows if row[1] == "claude"}
    offline_rows = {row[0]: row for row in rows if row[1] == "offline"}
    sample = set(train) | set(held_back)
    escalated = set(claude_rows) - sample
    # Every sample conversation has a Claude row; the first 3 of the rest were escalated.
    assert sample <= set(claude_rows)
    assert escalated == set(rest[:3])
    assert set(offline_rows) == set(rest[3:])
    assert {row[2] for row in offline_rows.values()} == {"offline-v2+learned"}
    assert len(rows) == len(fixture_texts())

    # One screen call per Claude conversation, one task call per occupational one
    # (group_size 1, and every summary differs).
    expected_calls = sum(1 + row[3] for row in claude_rows.values())
    assert len(fake.message_bodies) == expected_calls
    assert metadata["llm_calls"] == expected_calls
    assert metadata["escalated_this_run"] == 3
    assert metadata["escalation_capped"] == len(rest) - 3
    assert metadata["offline_tagged_this_run"] == len(rest) - 3
    assert metadata["tagged_this_run"] == len(rest)
    # The rest kept offline would have cost this run's calls and dollars per Claude conversation.
    sent = len(claude_rows)
    assert metadata["claude_calls_saved_estimate"] == round((len(rest) - 3) * expected_calls / sent)
    assert metadata["claude_cost_saved_usd_estimate"] == pytest.approx(
        (len(rest) - 3) * metadata["cost_usd"] / sent, abs=1e-4
    )

    agreement = expected_agreement(warehouse, tagging)
    for name, value in agreement.items():
        assert metadata[name] == pytest.approx(value), name
    # Cooking and code requests are far apart, so the SOC group rarely disagrees.
    assert metadata["agreement_soc_major_group"] >= 0.75

    assert metadata["languages"] == {"en": len(rest)}
    assert metadata["untagged_share"] == 0.0


def test_hybrid_rerun_makes_no_calls(warehouse: Path) -> None:
    tagging = hybrid_resource()
    materialize(warehouse, tagging, TopicClaude())
    before = query(warehouse, "select count(*) from raw.conversation_tags")

    fake = TopicClaude()
    metadata = materialize(warehouse, tagging, fake)
    assert fake.requests == []
    assert metadata["llm_calls"] == 0
    assert metadata["tagged_this_run"] == 0
    assert metadata["claude_calls_saved_estimate"] == 0
    assert metadata["claude_cost_saved_usd_estimate"] is None
    assert query(warehouse, "select count(*) from raw.conversation_tags") == before


def test_only_unsure_answers_escalate(warehouse: Path) -> None:
    tagging = hybrid_resource(escalate_below=0.6, max_escalations=None)
    metadata = materialize(warehouse, tagging, TopicClaude())
    rest = {key for key, part in parts(tagging.learning_settings()).items() if part is None}
    confidences = query(
        warehouse, "select confidence from raw.conversation_tags where backend = 'offline'"
    )
    assert all(confidence >= 0.6 for (confidence,) in confidences)
    assert metadata["escalation_capped"] == 0
    assert metadata["escalated_this_run"] + metadata["offline_tagged_this_run"] == len(rest)


class FailingClaude(TopicClaude):
    """Rejects every request about one conversation text; responds as TopicClaude otherwise."""

    def __init__(self, failing_text: str) -> None:
        super().__init__()
        self.failing_text = failing_text

    def _message(self, body: dict) -> httpx2.Response:
        if self.failing_text in conversation_text(body):
            return httpx2.Response(
                400,
                json={
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "rejected"},
                },
            )
        return super()._message(body)


def test_escalation_failure_keeps_offline_tag(warehouse: Path) -> None:
    tagging = hybrid_resource(max_escalations=1)
    rest = sorted(key for key, part in parts(tagging.learning_settings()).items() if part is None)
    first = rest[0]
    metadata = materialize(warehouse, tagging, FailingClaude(fixture_texts()[first]))
    assert metadata["escalation_failed"] == 1
    assert metadata["escalated_this_run"] == 0
    assert metadata["failed_this_run"] == 1
    rows = query(
        warehouse,
        f"""
        select backend, status from raw.conversation_tags
        where conversation_id = '{first}'
        order by backend
        """,
    )
    assert rows == [("claude", "failed"), ("offline", "tagged")]


def test_hybrid_needs_embedding_encoder(warehouse: Path) -> None:
    tagging = hybrid_resource(encoder="tfidf")
    connection = duckdb.connect(str(warehouse))
    try:
        CURRENT["fake"] = TopicClaude()
        tagger = tagging.build_tagger(connection)
        assert isinstance(tagger, HybridTagger)
        with pytest.raises(ValueError, match="TF-IDF fallback cannot learn"):
            tagger.learn(tagging.batch_size)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("learn_sample_fraction", 0.0, "learn_sample_fraction"),
        ("learn_sample_fraction", 1.5, "learn_sample_fraction"),
        ("learn_held_back_fraction", 1.0, "learn_held_back_fraction"),
        ("escalate_below", -0.1, "escalate_below"),
        ("max_escalations", -1, "max_escalations"),
    ],
)
def test_invalid_learning_settings(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tagging(backend="hybrid", api_key="k", **{field: value})


def test_hybrid_needs_key() -> None:
    with pytest.raises(ValueError, match="hybrid tagging backend needs an API key"):
        Tagging(backend="hybrid")


def test_hybrid_learns_with_default_encoder(warehouse: Path) -> None:
    tagging = hybrid_resource(encoder="auto")
    metadata = materialize(warehouse, tagging, TopicClaude())
    rows = query(
        warehouse,
        "select distinct prompt_version from raw.conversation_tags where backend = 'offline'",
    )
    assert rows == [("offline-v4-cascade+learned",)]
    assert metadata["learn_examples"] > 0
    assert metadata["offline_tagged_this_run"] > 0
