"""The whole asset graph on a small invented mirror: lineage, privacy folding, reruns."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration import settings
from orchestration.marts import MARTS_WITH_PUBLISHED_FLOW
from tests.fixtures.mirror import PROGRAMMING_TASK, write_fixture_mirror
from tests.graph import materialization_metadata, materialize_all, query


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """Materialize once on the fixture mirror; tests read the warehouse it leaves."""
    root = tmp_path_factory.mktemp("graph")
    mirror = write_fixture_mirror(root / "mirror")
    warehouse = root / "data" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_DATA_DIR, str(root / "data"))
        patch.setenv(settings.ENV_WAREHOUSE_PATH, str(warehouse))
        result = materialize_all(mirror)
    return {"result": result, "warehouse": warehouse, "mirror": mirror, "root": root}


def _conversation_count(built: dict) -> int:
    return query(built["warehouse"], "select count(*) from raw.conversations")[0][0]


def test_fixture_conversations_all_load(built: dict) -> None:
    # 18 programming requests, 3 hh-rlhf transcripts, 1 OpenAssistant tree, 1 flat thread.
    assert _conversation_count(built) == 23


def test_graph_materializes_every_asset(built: dict) -> None:
    assert built["result"].success


@pytest.mark.parametrize("mart", MARTS_WITH_PUBLISHED_FLOW)
def test_mart_has_rows_for_both_flows(built: dict, mart: str) -> None:
    flows = query(built["warehouse"], f"select distinct usage_source from marts.{mart}")
    assert sorted(flow for (flow,) in flows) == ["aei_2025_02", "pipeline"]


def test_task_above_thresholds_is_published(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select conversation_count, account_count, usage_pct
        from marts.task_usage
        where usage_source = 'pipeline' and task_key like 'write, update, and maintain%'
        """,
    )
    assert rows == [(18, 6, pytest.approx(100 * 18 / _conversation_count(built)))]


def test_small_task_cells_fold_into_suppressed(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select task_key, conversation_count, usage_pct
        from marts.task_usage
        where usage_source = 'pipeline' and is_suppressed
        """,
    )
    small = _conversation_count(built) - 18
    assert rows == [("suppressed", None, pytest.approx(100 * small / _conversation_count(built)))]


def test_pipeline_tasks_below_thresholds_are_hidden(built: dict) -> None:
    visible = query(
        built["warehouse"],
        "select task_key from marts.task_usage where usage_source = 'pipeline'",
    )
    assert sorted(key for (key,) in visible) == ["suppressed", PROGRAMMING_TASK.lower()]


def test_shared_statement_splits_share_equally(built: dict) -> None:
    rows = dict(
        query(
            built["warehouse"],
            """
            select occupation_title, usage_pct
            from marts.occupation_usage
            where usage_source = 'aei_2025_02'
            """,
        )
    )
    # 20 % of usage is shared by two occupations; `none` (5 %) drops out of the total.
    assert rows["Accountants"] == pytest.approx(100 * 10 / 95)
    assert rows["Treasurers and Controllers"] == pytest.approx(100 * 10 / 95)
    assert rows["Computer Programmers"] == pytest.approx(100 * 50 / 95)


def test_soc_groups_under_thresholds_keep_null_rows(built: dict) -> None:
    rows = dict(
        query(
            built["warehouse"],
            """
            select soc_major_group_code, usage_pct
            from marts.soc_major_group_usage
            where usage_source = 'pipeline' and not is_suppressed
            """,
        )
    )
    occupational = query(
        built["warehouse"],
        "select count(*) from intermediate.int_pipeline_conversations where task_key <> 'none'",
    )[0][0]
    assert len(rows) == 22
    assert rows["15"] == pytest.approx(100 * 18 / occupational)
    assert rows["35"] is None
    assert rows["43"] is None


def test_soc_groups_carry_employment_share(built: dict) -> None:
    rows = dict(
        query(
            built["warehouse"],
            """
            select soc_major_group_code, employment_pct
            from marts.soc_major_group_usage
            where usage_source = 'aei_2025_02'
            """,
        )
    )
    total = sum(1000 * n for n in range(1, 23))
    assert rows["11"] == pytest.approx(100 * 1000 / total)
    assert rows["53"] == pytest.approx(100 * 22000 / total)


def test_hourly_wage_rows_are_left_out(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select median_wage_usd
        from marts.occupation_usage
        where usage_source = 'aei_2025_02'
            and occupation_title = 'Poets, Lyricists and Creative Writers'
        """,
    )
    assert rows == [(None,)]


def test_published_modes_leave_out_none(built: dict) -> None:
    rows = dict(
        query(
            built["warehouse"],
            """
            select category, usage_excl_none_pct
            from marts.interaction_mode_usage
            where usage_source = 'aei_2025_02' and scope = 'overall'
            """,
        )
    )
    assert rows["directive"] == pytest.approx(100 * 30 / 79)
    assert rows["feedback_loop"] == pytest.approx(100 * 10 / 79)
    assert rows["automation"] == pytest.approx(100 * 40 / 79)
    assert rows["none"] is None


def test_conversations_without_accounts_count_alone(built: dict) -> None:
    rows = query(
        built["warehouse"],
        """
        select count(*), count(distinct account_key)
        from staging.stg_pipeline__conversations
        where source = 'hh-rlhf'
        """,
    )
    assert rows == [(4, 4)]


def test_report_is_written(built: dict) -> None:
    report = built["root"] / "data" / "reports" / "usage_report.md"
    text = report.read_text()
    assert "Computer and Mathematical Occupations" in text
    assert "suppressed" in text
    assert "Tags of the `pipeline` flow: `offline/" in text
    wage_rows = text.split("## Usage by wage quartile")[1].splitlines()
    assert not any(row.endswith("| suppressed |") for row in wage_rows), "no published row"


def test_rerun_loads_and_tags_nothing(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_DATA_DIR, str(built["root"] / "data"))
    monkeypatch.setenv(settings.ENV_WAREHOUSE_PATH, str(built["warehouse"]))
    before = query(built["warehouse"], "select * from marts.task_usage order by all")

    result = materialize_all(built["mirror"])

    conversations = materialization_metadata(result, ["raw", "conversations"])
    tags = materialization_metadata(result, ["raw", "conversation_tags"])
    assert result.success
    assert conversations["loaded_this_run"] == 0
    assert tags["tagged_this_run"] == 0
    assert query(built["warehouse"], "select * from marts.task_usage order by all") == before
