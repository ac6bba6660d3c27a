"""The O*NET task hierarchy: built from the fixture mirror, the real mirror, and by hand."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.hierarchy.build import (
    HierarchyError,
    TaskLink,
    TaskStatement,
    WorkActivity,
    build_hierarchy,
    normalise_statement,
)
from orchestration.defs.hierarchy.groups import TOP_GROUPS
from orchestration.defs.hierarchy.model import HierarchyNotFoundError, load_task_hierarchy
from orchestration.defs.hierarchy.store import build_from_warehouse, write_hierarchy
from orchestration.defs.reference.load import TABLE_LOADS, load_skills, load_table
from tests.fixtures.mirror import SKILL_IDS

ONET_FILES = {
    "onet_tasks_to_dwas": "onet/Tasks to DWAs.txt.gz",
    "onet_dwa_reference": "onet/DWA Reference.txt",
    "onet_iwa_reference": "onet/IWA Reference.txt",
    "onet_content_model_reference": "onet/Content Model Reference.txt",
    "onet_task_statements": "aei_2025_02/onet_task_statements.csv",
}


def _load_reference(mirror: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for table, path in ONET_FILES.items():
        load_table(
            connection,
            TABLE_LOADS[table],
            mirror / path,
            extra_columns=("'20.1' as onet_release",) if table == "onet_task_statements" else (),
        )
    return connection


@pytest.fixture
def fixture_hierarchy(fixture_mirror: Path):
    connection = _load_reference(fixture_mirror)
    built = build_from_warehouse(connection)
    write_hierarchy(connection, built, "onet20.1-test")
    yield load_task_hierarchy(connection)
    connection.close()


def test_fixture_node_counts(fixture_hierarchy) -> None:
    levels = Counter(node.level for node in fixture_hierarchy.nodes)
    assert levels == {1: 4, 2: 4, 3: 8}


def test_fixture_top_groups_hold_used_gwas(fixture_hierarchy) -> None:
    top_ids = [node.node_id for node in fixture_hierarchy.top_groups()]
    # T01 would hold the IWA that no task reaches, so it is left out.
    assert top_ids == ["T03", "T04", "T07", "T08"]


def test_fixture_parentage(fixture_hierarchy) -> None:
    middle = {node.node_id: node.parent_id for node in fixture_hierarchy.nodes if node.level == 2}
    assert middle == {
        "M4.A.2.a.4.I05": "T03",
        "M4.A.2.b.2.I03": "T04",
        "M4.A.3.a.4.I01": "T07",
        "M4.A.3.b.1.I01": "T08",
    }
    tasks = {
        node.task_id: (node.parent_id, node.attached_by)
        for node in fixture_hierarchy.nodes
        if node.level == 3
    }
    assert tasks == {
        101: ("M4.A.3.b.1.I01", "onet_link"),
        102: ("M4.A.3.b.1.I01", "onet_link"),
        201: ("M4.A.2.a.4.I05", "text_match"),
        301: ("M4.A.2.a.4.I05", "text_match"),
        302: ("M4.A.2.a.4.I05", "similarity"),
        # Linked to two DWAs of I03 and one of I05: the IWA with more DWAs wins.
        401: ("M4.A.2.b.2.I03", "onet_link"),
        501: ("M4.A.2.b.2.I03", "similarity"),
        601: ("M4.A.3.a.4.I01", "onet_link"),
    }


def test_api_walks_down_levels(fixture_hierarchy) -> None:
    assert fixture_hierarchy.version == "onet20.1-test"
    middles = fixture_hierarchy.middle_groups("T08")
    assert [node.name for node in middles] == ["Program computer systems."]
    tasks = fixture_hierarchy.tasks("M4.A.3.b.1.I01")
    assert [node.task_id for node in tasks] == [101, 102]
    assert tasks[1].name == "Correct errors by making code changes."


def test_api_rejects_wrong_level(fixture_hierarchy) -> None:
    with pytest.raises(HierarchyNotFoundError, match="level 2, expected level 1"):
        fixture_hierarchy.middle_groups("M4.A.3.b.1.I01")
    with pytest.raises(HierarchyNotFoundError, match="not in task hierarchy"):
        fixture_hierarchy.tasks("M9.9")


def test_missing_table_is_reported() -> None:
    connection = duckdb.connect()
    with pytest.raises(HierarchyNotFoundError, match="materialize the raw/task_hierarchy"):
        load_task_hierarchy(connection)


def _activity(iwa: str, dwa: str, gwa: str = "4.A.3.b.1") -> WorkActivity:
    return WorkActivity(gwa, f"{gwa}.{iwa}", f"IWA {iwa}", f"{gwa}.{iwa}.{dwa}", f"DWA {dwa}")


def test_large_iwa_splits_under_cap() -> None:
    activities = [_activity("I01", "D01"), _activity("I01", "D02"), _activity("I02", "D01")]
    tasks = [TaskStatement(task_id, f"task {task_id}") for task_id in range(1, 12)]
    links = [TaskLink(task_id, f"task {task_id}", activities[0].dwa_id) for task_id in range(1, 6)]
    links += [
        TaskLink(task_id, f"task {task_id}", activities[1].dwa_id) for task_id in range(6, 11)
    ]
    links.append(TaskLink(11, "task 11", activities[2].dwa_id))

    built = build_hierarchy(tasks, links, activities, {}, max_tasks_per_group=4)

    sizes = Counter(node.parent_id for node in built.nodes if node.level == 3)
    # D01 (5 tasks) is cut into runs of 3 and 2, and so is D02. Runs pack into parts of <= 4.
    assert max(sizes.values()) <= 4
    assert sum(sizes.values()) == 11
    middle_names = sorted(node.name for node in built.nodes if node.level == 2)
    assert middle_names[0].startswith("IWA I01 (part 1 of")
    assert "IWA I02" in middle_names


def test_unknown_dwa_is_rejected() -> None:
    activities = [_activity("I01", "D01")]
    links = [TaskLink(1, "task", "4.A.3.b.1.I09.D09")]
    with pytest.raises(HierarchyError, match="missing from the DWA reference"):
        build_hierarchy([TaskStatement(1, "task")], links, activities, {})


def test_unmapped_gwa_is_rejected() -> None:
    activities = [_activity("I01", "D01", gwa="4.A.9.z.9")]
    links = [TaskLink(1, "task", activities[0].dwa_id)]
    with pytest.raises(HierarchyError, match="have no top group"):
        build_hierarchy([TaskStatement(1, "task")], links, activities, {})


def test_normalised_statement_ignores_case_and_period() -> None:
    assert normalise_statement("  Drive  Trucks.") == normalise_statement("drive trucks")


def test_top_groups_cover_41_gwas_once() -> None:
    gwa_ids = [gwa for group in TOP_GROUPS for gwa in group.gwa_ids]
    assert len(gwa_ids) == 41
    assert len(set(gwa_ids)) == 41


@pytest.fixture(scope="module")
def real_hierarchy(real_mirror: Path):
    connection = _load_reference(real_mirror)
    built = build_from_warehouse(connection)
    task_ids = {
        row[0]
        for row in connection.execute("select task_id from raw.onet_task_statements").fetchall()
    }
    connection.close()
    return built, task_ids


def test_real_hierarchy_shape(real_hierarchy) -> None:
    built, _ = real_hierarchy
    levels = built.level_counts()
    assert levels[1] == 12
    assert 250 <= levels[2] <= 500
    assert levels[3] == 19530


def test_real_middle_groups_within_cap(real_hierarchy) -> None:
    built, _ = real_hierarchy
    stats = built.children_stats(2)
    assert stats["min"] >= 1
    assert stats["max"] <= 150


def test_real_tasks_each_in_one_middle_group(real_hierarchy) -> None:
    built, task_ids = real_hierarchy
    middle_ids = {node.node_id for node in built.nodes if node.level == 2}
    task_nodes = [node for node in built.nodes if node.level == 3]
    assert sorted(node.task_id for node in task_nodes) == sorted(task_ids)
    assert all(node.parent_id in middle_ids for node in task_nodes)


def test_real_attachment_mostly_by_link(real_hierarchy) -> None:
    built, task_ids = real_hierarchy
    counts = built.attachment_counts
    assert sum(counts.values()) == len(task_ids)
    # About three quarters of the 20.1 tasks keep their id in 29.3.
    assert 0.7 < counts["onet_link"] / len(task_ids) < 0.85
    assert counts["text_match"] > 0
    assert counts["similarity"] > 0


def test_fixture_skills_are_skill_level_only(fixture_mirror: Path) -> None:
    connection = _load_reference(fixture_mirror)
    assert load_skills(connection) == 3
    rows = connection.execute("select skill_id, skill_name from raw.onet_skills").fetchall()
    assert [skill_id for skill_id, _ in rows] == list(SKILL_IDS)
    assert rows[1][1] == "Writing"


def test_real_onet_lists_35_skills(real_mirror: Path) -> None:
    connection = _load_reference(real_mirror)
    assert load_skills(connection) == 35
    names = {
        name for (name,) in connection.execute("select skill_name from raw.onet_skills").fetchall()
    }
    assert {"Critical Thinking", "Programming", "Repairing", "Negotiation"} <= names
