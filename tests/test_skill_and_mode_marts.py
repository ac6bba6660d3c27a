"""skills_usage, task_mode_mix and tag provenance on fixture tags written with skills."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import settings
from orchestration.defs.tagging.assets import write_tags
from orchestration.defs.tagging.records import TagRecord
from tests.fixtures.mirror import PROGRAMMING_TASK, RECIPE_TASK, write_fixture_mirror
from tests.graph import materialization_metadata, materialize_all, query

BACKEND = "fixture"
MODEL = "fixture-model"
PROMPT_VERSION = "skills-v1"
PROVENANCE = f"{BACKEND}/{MODEL}/{PROMPT_VERSION}"
PROGRAMMING = "2.B.3.e"
WRITING = "2.A.1.c"
READING = "2.A.1.a"


def _record(source: str, conversation_id: str, task_id: int, mode: str, skills) -> TagRecord:
    return TagRecord(
        source=source,
        conversation_id=conversation_id,
        backend=BACKEND,
        model=MODEL,
        prompt_version=PROMPT_VERSION,
        is_occupational=True,
        task_id=task_id,
        interaction_mode=mode,
        confidence=0.9,
        skills=tuple(skills),
    )


def _fixture_tags(connection: duckdb.DuckDBPyConnection) -> list[TagRecord]:
    """Tag the 18 programming requests and the 3 hh-rlhf transcripts with skills.

    Programming: 12 directive and 6 feedback_loop over 6 accounts, all showing Programming
    and Writing, the first 3 also Reading Comprehension. The 3 transcripts go to the recipe
    task in learning mode with Reading Comprehension, so that skill (6 conversations) and
    the recipe task (3) stay under the thresholds.
    """
    programming = connection.execute(
        "select source, conversation_id from raw.conversations "
        "where conversation_id like '%prog-%' order by conversation_id"
    ).fetchall()
    transcripts = connection.execute(
        "select source, conversation_id from raw.conversations where source = 'hh-rlhf' "
        "and conversation_id like 'harmless-base%' order by conversation_id"
    ).fetchall()
    assert len(programming) == 18
    assert len(transcripts) == 3
    records = [
        _record(
            source,
            conversation_id,
            101,
            "directive" if index < 12 else "feedback_loop",
            [PROGRAMMING, WRITING] + ([READING] if index < 3 else []),
        )
        for index, (source, conversation_id) in enumerate(programming)
    ]
    records += [
        _record(source, conversation_id, 401, "learning", [READING])
        for source, conversation_id in transcripts
    ]
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """Run the graph, write tags with skills, then rebuild the dbt models alone."""
    from orchestration.definitions import ALL_ASSETS, build_resources
    from orchestration.defs.dbt.assets import economic_index_dbt

    root = tmp_path_factory.mktemp("skills")
    mirror = write_fixture_mirror(root / "mirror")
    warehouse = root / "data" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_DATA_DIR, str(root / "data"))
        patch.setenv(settings.ENV_WAREHOUSE_PATH, str(warehouse))
        first = materialize_all(mirror)
        connection = duckdb.connect(str(warehouse))
        try:
            write_tags(connection, _fixture_tags(connection))
        finally:
            connection.close()
        rebuilt = dg.materialize(
            ALL_ASSETS,
            resources=build_resources(),
            selection=dg.AssetSelection.assets(economic_index_dbt),
        )
    return {"first": first, "rebuilt": rebuilt, "warehouse": warehouse}


def _occupational_total(built: dict) -> int:
    return query(
        built["warehouse"],
        "select count(*) from intermediate.int_pipeline_conversations where task_key <> 'none'",
    )[0][0]


def test_runs_succeed(built: dict) -> None:
    assert built["first"].success
    assert built["rebuilt"].success


def test_hierarchy_asset_metadata(built: dict) -> None:
    metadata = materialization_metadata(built["first"], ["raw", "task_hierarchy"])
    assert metadata["hierarchy_version"] == "onet20.1-gwa-v1"
    assert metadata["nodes_per_level"] == {"1": 4, "2": 4, "3": 8}
    assert metadata["tasks_by_attachment"] == {"onet_link": 4, "text_match": 2, "similarity": 2}
    assert metadata["tasks_per_middle_group"] == {"min": 1, "median": 2.0, "max": 3}


def test_skills_asset_loads_fixture_skills(built: dict) -> None:
    rows = query(built["warehouse"], "select skill_id from raw.onet_skills order by 1")
    assert [skill_id for (skill_id,) in rows] == [READING, WRITING, PROGRAMMING]


def test_skills_above_thresholds_are_published(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select skill_id, skill_name, conversation_count, account_count, conversation_pct,
            tag_backends
        from marts.skills_usage
        where not is_suppressed
        order by skill_id
        """,
    )
    share = pytest.approx(100 * 18 / _occupational_total(built))
    assert rows == [
        (WRITING, "Writing", 18, 6, share, PROVENANCE),
        (PROGRAMMING, "Programming", 18, 6, share, PROVENANCE),
    ]


def test_small_skill_folds_into_other(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select skill_id, skill_name, conversation_count, account_count, conversation_pct
        from marts.skills_usage
        where is_suppressed
        """,
    )
    # Reading Comprehension: 3 programming requests and 3 transcripts, under 15.
    share = pytest.approx(100 * 6 / _occupational_total(built))
    assert rows == [(None, "other skills", None, None, share)]


def test_task_mode_mix_of_published_task(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select mix_level, cell_name, conversation_count, account_count, directive_pct,
            feedback_loop_pct, task_iteration_pct, none_pct, automation_pct,
            augmentation_pct, tag_backends
        from marts.task_mode_mix
        where not is_suppressed
        order by mix_level
        """,
    )
    mix = (
        18,
        6,
        pytest.approx(200 / 3),
        pytest.approx(100 / 3),
        0.0,
        0.0,
        pytest.approx(100.0),
        0.0,
        PROVENANCE,
    )
    assert rows == [
        ("occupation", "Computer Programmers", *mix),
        ("task", PROGRAMMING_TASK, *mix),
    ]


def test_small_mode_mix_cells_fold_into_other(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select mix_level, cell_key, cell_name, conversation_count, directive_pct,
            learning_pct, tag_backends
        from marts.task_mode_mix
        where is_suppressed
        order by mix_level
        """,
    )
    levels = [row[0] for row in rows]
    assert levels == ["occupation", "task"]
    for mix_level, cell_key, cell_name, count, directive, learning, backends in rows:
        assert cell_key == "other"
        assert cell_name == f"other {mix_level}s"
        # The recipe task's 3 conversations stay under the thresholds, so no figure shows.
        assert count is None
        assert directive is None
        assert learning is None
        assert PROVENANCE in backends


def test_recipe_task_has_no_row_of_its_own(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select count(*) from marts.task_mode_mix where cell_name = ?",
        [RECIPE_TASK],
    )
    assert rows == [(0,)]


def test_existing_marts_name_their_taggers(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select distinct usage_source, tag_backends from marts.task_usage order by 1",
    )
    published, pipeline = rows
    assert published == ("aei_2025_02", None)
    assert pipeline[0] == "pipeline"
    assert PROVENANCE in pipeline[1].split(", ")
