"""The published flow reproduces the Economic Index (Feb 2025) figures from its own files.

Expected values are the paper's and blog's figures, recomputed to two decimals with the
release notebook's method (join on lower-cased statement text, equal split across occupation
titles, `none` left out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration import settings
from tests.graph import materialization_metadata, materialize_all, query

pytestmark = pytest.mark.mirror

SOC_SHARES = {
    "15": ("Computer and Mathematical Occupations", 37.22, 3.41),
    "27": ("Arts, Design, Entertainment, Sports, and Media Occupations", 10.28, 1.39),
    "25": ("Educational Instruction and Library Occupations", 9.33, 5.76),
    "43": ("Office and Administrative Support Occupations", 7.87, 12.20),
    "19": ("Life, Physical, and Social Science Occupations", 6.38, 0.91),
    "13": ("Business and Financial Operations Occupations", 5.93, 6.64),
    "17": ("Architecture and Engineering Occupations", 4.51, 1.67),
    "11": ("Management Occupations", 4.48, 6.91),
    "51": ("Production Occupations", 2.93, 5.78),
    "29": ("Healthcare Practitioners and Technical Occupations", 2.58, 6.11),
    "41": ("Sales and Related Occupations", 2.27, 8.81),
    "21": ("Community and Social Service Occupations", 2.07, 1.59),
    "23": ("Legal Occupations", 0.90, 0.82),
    "49": ("Installation, Maintenance, and Repair Occupations", 0.72, 3.94),
    "35": ("Food Preparation and Serving Related Occupations", 0.53, 8.72),
    "39": ("Personal Care and Service Occupations", 0.46, 2.00),
    "47": ("Construction and Extraction Occupations", 0.42, 4.10),
    "33": ("Protective Service Occupations", 0.38, 2.31),
    "53": ("Transportation and Material Moving Occupations", 0.28, 9.06),
    "31": ("Healthcare Support Occupations", 0.27, 4.65),
    "37": ("Building and Grounds Cleaning and Maintenance Occupations", 0.10, 2.92),
    "45": ("Farming, Fishing, and Forestry Occupations", 0.07, 0.28),
}
DEPTH = {10: 57.2, 25: 36.2, 50: 11.5, 75: 4.1}
MODES = {
    "directive": 27.8,
    "feedback_loop": 14.8,
    "task_iteration": 31.3,
    "learning": 23.3,
    "validation": 2.8,
    "automation": 42.6,
    "augmentation": 57.4,
}
# Unweighted quartiles of occupations' median wages (38,160 / 53,380 / 72,795 USD).
WAGE_QUARTILES = {"q1": 7.2, "q2": 17.4, "q3": 26.0, "q4": 49.4}


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path, real_mirror: Path
) -> dict:
    """Build the marts from the real release files, with checksums verified."""
    root = tmp_path_factory.mktemp("published")
    warehouse = root / "data" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_DATA_DIR, str(root / "data"))
        patch.setenv(settings.ENV_WAREHOUSE_PATH, str(warehouse))
        # These figures come from the published flow alone. The TF-IDF encoder spares the
        # minutes of embedding every real task statement that the tags here do not need.
        patch.setenv(settings.ENV_TAGGING_ENCODER, "tfidf")
        result = materialize_all(real_mirror, verify_checksums=True, load_public_samples=False)
    assert result.success
    return {"result": result, "warehouse": warehouse}


def _published_rows(warehouse: Path, sql: str) -> dict:
    return dict(query(warehouse, sql))


@pytest.mark.parametrize("code", sorted(SOC_SHARES))
def test_soc_group_share_matches_paper(published: dict, code: str) -> None:
    title, usage_pct, employment_pct = SOC_SHARES[code]
    rows = query(
        published["warehouse"],
        """
        select soc_major_group_title, usage_pct, employment_pct
        from marts.soc_major_group_usage
        where usage_source = 'aei_2025_02' and soc_major_group_code = ?
        """,
        [code],
    )
    assert len(rows) == 1
    assert rows[0][0] == title
    assert rows[0][1] == pytest.approx(usage_pct, abs=0.01)
    assert rows[0][2] == pytest.approx(employment_pct, abs=0.01)


def test_top_occupation_is_computer_programmers(published: dict) -> None:
    rows = query(
        published["warehouse"],
        """
        select occupation_title, usage_pct
        from marts.occupation_usage
        where usage_source = 'aei_2025_02'
        order by usage_pct desc
        limit 1
        """,
    )
    assert rows[0][0] == "Computer Programmers"
    assert rows[0][1] == pytest.approx(6.16, abs=0.005)


@pytest.mark.parametrize("min_share", sorted(DEPTH))
def test_depth_of_use_matches_paper(published: dict, min_share: int) -> None:
    rows = _published_rows(
        published["warehouse"],
        """
        select min_task_share_pct, occupation_share_pct
        from marts.occupation_depth
        where usage_source = 'aei_2025_02'
        """,
    )
    assert rows[min_share] == pytest.approx(DEPTH[min_share], abs=0.1)


def test_depth_counts_every_occupation(published: dict) -> None:
    rows = query(
        published["warehouse"],
        "select distinct occupation_count from marts.occupation_depth",
    )
    assert rows == [(974,)]


@pytest.mark.parametrize("category", sorted(MODES))
def test_mode_share_matches_blog(published: dict, category: str) -> None:
    rows = _published_rows(
        published["warehouse"],
        """
        select category, usage_excl_none_pct
        from marts.interaction_mode_usage
        where usage_source = 'aei_2025_02' and scope = 'overall'
        """,
    )
    assert rows[category] == pytest.approx(MODES[category], abs=0.1)


@pytest.mark.parametrize("quartile", sorted(WAGE_QUARTILES))
def test_wage_quartile_share_matches_reproduction(published: dict, quartile: str) -> None:
    rows = _published_rows(
        published["warehouse"],
        """
        select wage_group, usage_pct
        from marts.wage_usage
        where usage_source = 'aei_2025_02' and wage_grouping = 'wage_quartile'
        """,
    )
    assert rows[quartile] == pytest.approx(WAGE_QUARTILES[quartile], abs=0.1)


def test_usage_above_us_median_wage(published: dict) -> None:
    rows = _published_rows(
        published["warehouse"],
        """
        select wage_group, usage_pct
        from marts.wage_usage
        where usage_source = 'aei_2025_02' and wage_grouping = 'us_median'
        """,
    )
    assert rows["above_us_median"] == pytest.approx(69.6, abs=0.1)


def test_task_shares_sum_to_100(published: dict) -> None:
    rows = query(
        published["warehouse"],
        """
        select count(*), sum(usage_pct)
        from marts.task_usage
        where usage_source = 'aei_2025_02'
        """,
    )
    assert rows[0][0] == 3514
    assert rows[0][1] == pytest.approx(100.0, abs=0.01)


def test_reference_metadata_names_mirror_and_rows(published: dict) -> None:
    metadata = materialization_metadata(published["result"], ["raw", "onet_task_statements"])
    assert metadata["source"] == "mirror"
    assert metadata["dagster/row_count"] == 19530
    assert metadata["checksum_verified"] is True
