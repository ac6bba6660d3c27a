"""Clustering inside the whole asset graph: tables, marts, thresholds, the page and reruns."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.defs.clustering.resource import ENV_TARGET_SIZE, ENV_TOP_SIZE
from orchestration.defs.conversations.lineage import conversation_tables
from tests.fixtures.mirror import write_fixture_mirror
from tests.graph import materialization_metadata, materialize_all, query

# Two topics large enough to publish, one too small (6 conversations from 2 accounts).
TOPICS = [
    ("soup", 40, 10, "Give me a recipe for vegetable soup with lentils and carrots."),
    ("python", 30, 8, "Why does my python loop raise a TypeError on the list index?"),
    ("knit", 6, 2, "Show me a knitting pattern for a woollen scarf with cables."),
]


def _write_inbox(inbox: Path) -> None:
    inbox.mkdir()
    lines = []
    for topic, count, accounts, text in TOPICS:
        for index in range(count):
            lines.append(
                json.dumps(
                    {
                        "id": f"{topic}-{index}",
                        "account_id": f"{topic}-account-{index % accounts}",
                        "messages": [
                            {"role": "user", "content": text},
                            {"role": "assistant", "content": "Here is one way to do it."},
                        ],
                    }
                )
            )
    (inbox / "topics.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """Run the graph twice on the three-topic inbox; the second run has no new input."""
    root = tmp_path_factory.mktemp("clusters")
    mirror = write_fixture_mirror(root / "mirror")
    inbox = root / "inbox"
    _write_inbox(inbox)
    data = root / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_DATA_DIR, str(data))
        patch.setenv(settings.ENV_WAREHOUSE_PATH, str(data / "warehouse.duckdb"))
        patch.setenv(ENV_TARGET_SIZE, "25")
        patch.setenv(ENV_TOP_SIZE, "1")
        first = materialize_all(mirror, load_public_samples=False, inbox=inbox)
        first_clusters = query(
            data / "warehouse.duckdb", "select * from raw.clusters order by cluster_id"
        )
        second = materialize_all(mirror, load_public_samples=False, inbox=inbox)
    return {
        "first": first,
        "second": second,
        "first_clusters": first_clusters,
        "warehouse": data / "warehouse.duckdb",
        "page": data / "reports" / "clusters.html",
    }


def test_graph_with_clusters_succeeds(clustered: dict) -> None:
    assert clustered["first"].success
    assert clustered["second"].success


def test_every_conversation_has_facets(clustered: dict) -> None:
    rows = query(
        clustered["warehouse"],
        "select summary_method, count(*), count(language) from raw.conversation_facets group by 1",
    )
    assert rows == [("offline", 76, 76)]


def test_levels_built_on_three_topics(clustered: dict) -> None:
    metadata = materialization_metadata(clustered["first"], ["raw", "clusters"])
    assert metadata["clusters_per_level"] == [3, 2, 1]
    levels = query(
        clustered["warehouse"],
        "select level, count(distinct cluster_id), count(*) from raw.cluster_memberships "
        "group by level order by level",
    )
    assert levels == [(0, 3, 76), (1, 2, 76), (2, 1, 76)]


def test_small_cluster_is_withheld_and_rolled_up(clustered: dict) -> None:
    rows = query(
        clustered["warehouse"],
        "select level, cluster_name, conversation_count, account_count, is_suppressed "
        "from marts.clusters order by level, is_suppressed, conversation_count desc",
    )
    base = [row for row in rows if row[0] == 0]
    assert [row[2:] for row in base] == [(40, 10, False), (30, 8, False), (None, None, True)]
    top = [row for row in rows if row[0] == 2 and not row[4]]
    assert [row[2] for row in top] == [76]
    suppressed_pct = query(
        clustered["warehouse"],
        "select conversation_pct from marts.clusters where cluster_id = 'suppressed-L0'",
    )
    assert suppressed_pct == [(pytest.approx(100 * 6 / 76),)]


def test_small_cluster_name_is_never_shown(clustered: dict) -> None:
    marts = query(
        clustered["warehouse"],
        "select string_agg(coalesce(cluster_name, '') || ' ' || "
        "coalesce(cluster_description, ''), ' ') from marts.clusters",
    )[0][0]
    page = clustered["page"].read_text()
    for word in ("knitting", "scarf", "woollen", "cables"):
        assert word not in marts.lower()
        assert word not in page.lower()


def test_published_rows_meet_thresholds(clustered: dict) -> None:
    small = query(
        clustered["warehouse"],
        """
        select cluster_id from marts.clusters
        where not is_suppressed and (conversation_count < 15 or account_count < 5)
        union all
        select cluster_id from marts.cluster_mix
        where not is_suppressed and (conversation_count < 15 or account_count < 5)
        """,
    )
    assert small == []


def test_cluster_mix_shares_add_up(clustered: dict) -> None:
    totals = query(
        clustered["warehouse"],
        "select cluster_id, mix_kind, sum(cluster_pct) from marts.cluster_mix group by 1, 2",
    )
    assert totals
    for _cluster, _kind, total in totals:
        assert total == pytest.approx(100.0)


def test_page_lists_published_clusters(clustered: dict) -> None:
    page = clustered["page"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<details>") == len(
        query(clustered["warehouse"], "select 1 from marts.clusters where not is_suppressed")
    )
    assert "76 conversations" in page
    assert "<script" not in page
    assert "http" not in page


def test_rerun_reuses_vectors_and_repeats_clusters(clustered: dict) -> None:
    embeddings = materialization_metadata(clustered["second"], ["raw", "summary_embeddings"])
    assert embeddings["encoded_this_run"] == 0
    assert embeddings["reused_this_run"] == 0
    second_clusters = query(
        clustered["warehouse"], "select * from raw.clusters order by cluster_id"
    )
    # Every column but the build time is the same.
    assert [row[:-1] for row in second_clusters] == [
        row[:-1] for row in clustered["first_clusters"]
    ]


def test_forgetting_covers_cluster_tables(clustered: dict) -> None:
    connection = duckdb.connect(str(clustered["warehouse"]), read_only=True)
    try:
        tables = conversation_tables(connection)
    finally:
        connection.close()
    for table in ("conversation_facets", "summary_embeddings", "cluster_memberships"):
        assert table in tables
    assert "clusters" not in tables
