"""From summary vectors to named, audited clusters at every level, with publication decided.

A cluster is published when its label passed the audit and it contains at least
min_conversations conversations from at least min_accounts distinct accounts. Any other
cluster is withheld: its conversations still count in every ancestor's totals, and its
published descendants hang from its nearest published ancestor instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from orchestration.defs.clustering.kmeans import Hierarchy, build_hierarchy
from orchestration.defs.clustering.naming import (
    FALLBACK_NAME,
    ClusterLabel,
    Namer,
    NamingRequest,
)
from orchestration.defs.clustering.privacy import Auditor, AuditResult

# Neighbouring clusters whose members supply the contrastive outside sample.
NEIGHBOURS = 3
# Background texts the base-level namer is fitted on; a fixed cap bounds its vocabulary.
MAX_BACKGROUND_TEXTS = 50_000

NamerFactory = Callable[[Sequence[str], int], Namer]


@dataclass(frozen=True)
class ClusterSettings:
    """Sizes, thresholds and seed of one clustering run."""

    target_cluster_size: int = 50
    top_size: int = 10
    max_branching: int = 10
    min_conversations: int = 15
    min_accounts: int = 5
    seed: int = 0


@dataclass(frozen=True)
class ClusterRow:
    """One cluster at one level, as stored in raw.clusters."""

    cluster_id: str
    level: int
    parent_cluster_id: str | None
    published_parent_id: str | None
    name: str | None
    description: str | None
    conversation_count: int
    account_count: int
    is_published: bool
    suppression_reason: str | None


@dataclass
class ClusterResult:
    hierarchy: Hierarchy
    clusters: list[ClusterRow]
    # Per level, the cluster id of every point (in input order).
    point_cluster_ids: list[list[str]]


def cluster_id(level: int, index: int) -> str:
    return f"L{level}-{index:05d}"


def _members_by_cluster(labels: np.ndarray, count: int) -> list[np.ndarray]:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    return [order[bounds[index] : bounds[index + 1]] for index in range(count)]


def _nearest_clusters(centroids: np.ndarray, neighbours: int) -> np.ndarray:
    """Return, for each centroid, the indices of its nearest other centroids (cosine)."""
    count = len(centroids)
    neighbour_count = min(neighbours, count - 1)
    nearest = np.zeros((count, max(neighbour_count, 0)), dtype=np.int64)
    if neighbour_count <= 0:
        return nearest
    # Row blocks keep the similarity matrix small when there are thousands of clusters.
    for start in range(0, count, 1024):
        block = centroids[start : start + 1024] @ centroids.T
        for offset in range(len(block)):
            block[offset, start + offset] = -np.inf
        top = np.argpartition(-block, neighbour_count - 1, axis=1)[:, :neighbour_count]
        order = np.argsort(-np.take_along_axis(block, top, axis=1), axis=1, kind="stable")
        nearest[start : start + len(block)] = np.take_along_axis(top, order, axis=1)
    return nearest


def _one_per_account(
    members: np.ndarray, accounts: Sequence[str], rng: np.random.Generator, size: int
) -> list[int]:
    """Sample up to size members with at most one from any account."""
    shuffled = members[rng.permutation(len(members))]
    seen: set[str] = set()
    chosen = []
    for member in shuffled:
        account = accounts[member]
        if account in seen:
            continue
        seen.add(account)
        chosen.append(int(member))
        if len(chosen) == size:
            break
    return chosen


def _closest_outside(
    centroid: np.ndarray, candidates: np.ndarray, vectors: np.ndarray, size: int
) -> list[int]:
    if len(candidates) == 0:
        return []
    similarity = vectors[candidates] @ centroid
    keep = np.argsort(-similarity, kind="stable")[:size]
    return [int(candidates[index]) for index in keep]


def label_all(namer: Namer, requests: Sequence[NamingRequest]) -> list[ClusterLabel]:
    """Name every request, all at once when the namer can (a model namer sends them together)."""
    label_many = getattr(namer, "label_many", None)
    if label_many is not None:
        return list(label_many(requests))
    return [namer.label(request.inside, request.outside) for request in requests]


def audit_all(
    auditor: Auditor, labels: Sequence[ClusterLabel], requests: Sequence[NamingRequest]
) -> list[AuditResult]:
    """Audit every label; a label the namer failed to make fails without an audit."""
    results: list[AuditResult | None] = [
        AuditResult(False, f"naming failed: {label.failure}") if label.failure else None
        for label in labels
    ]
    todo = [index for index, result in enumerate(results) if result is None]
    audit_many = getattr(auditor, "audit_many", None)
    if audit_many is not None:
        audited = audit_many(
            [labels[index] for index in todo],
            [requests[index].owners for index in todo],
            [requests[index].level for index in todo],
        )
    else:
        audited = [auditor.audit(labels[index].name, labels[index].description) for index in todo]
    for index, result in zip(todo, audited, strict=True):
        results[index] = result
    return [result for result in results if result is not None]


def _label_base(
    hierarchy: Hierarchy,
    vectors: np.ndarray,
    summaries: Sequence[str],
    accounts: Sequence[str],
    keys: Sequence[tuple[str, str]],
    namer: Namer,
    seed: int,
) -> tuple[list[ClusterLabel], list[NamingRequest]]:
    centroids = hierarchy.centroids[0]
    members = _members_by_cluster(hierarchy.assignments[0], len(centroids))
    nearest = _nearest_clusters(centroids, NEIGHBOURS)
    requests = []
    for index, own in enumerate(members):
        rng = np.random.default_rng([seed, index])
        inside = _one_per_account(own, accounts, rng, namer.sample_size)
        candidates = np.concatenate([members[other] for other in nearest[index]] or [own[:0]])
        outside = _closest_outside(centroids[index], candidates, vectors, namer.sample_size)
        requests.append(
            NamingRequest(
                level=0,
                inside=[summaries[member] for member in inside],
                outside=[summaries[member] for member in outside],
                owners=sorted({keys[member] for member in inside + outside}),
            )
        )
    return label_all(namer, requests), requests


def _label_parents(
    level: int,
    hierarchy: Hierarchy,
    child_names: list[str | None],
    namer_factory: NamerFactory,
) -> tuple[list[ClusterLabel], list[NamingRequest]]:
    """Name each cluster of a level from the audited names of its children."""
    parents = hierarchy.assignments[level]
    centroids = hierarchy.centroids[level]
    children = _members_by_cluster(parents, len(centroids))
    nearest = _nearest_clusters(centroids, NEIGHBOURS)
    background = [name for name in child_names if name]
    namer = namer_factory(background, 1)
    requests = []
    for index, own in enumerate(children):
        inside = [child_names[child] for child in own if child_names[child]]
        outside = [
            child_names[child]
            for other in nearest[index]
            for child in children[other]
            if child_names[child]
        ]
        requests.append(NamingRequest(level, inside, outside[: namer.sample_size]))
    return label_all(namer, requests), requests


def cluster_summaries(
    vectors: np.ndarray,
    summaries: Sequence[str],
    accounts: Sequence[str],
    settings: ClusterSettings,
    namer_factory: NamerFactory,
    auditor: Auditor,
    conversation_keys: Sequence[tuple[str, str]] | None = None,
) -> ClusterResult:
    """Cluster, name, audit and decide publication for every cluster at every level.

    vectors, summaries and accounts are parallel: one row per conversation, with the
    account key (a hashed account, or the conversation itself when it has none).
    namer_factory(background_texts, min_term_documents) builds the namer of one level.
    conversation_keys, parallel too, gives each row's (source, conversation_id), which a
    model namer stores as the owners of its cached responses.
    """
    if conversation_keys is None:
        conversation_keys = [("", str(index)) for index in range(len(summaries))]
    if not (len(vectors) == len(summaries) == len(accounts) == len(conversation_keys)):
        raise ValueError(
            "vectors, summaries, accounts and conversation_keys must have one row per "
            "conversation"
        )
    hierarchy = build_hierarchy(
        vectors,
        target_cluster_size=settings.target_cluster_size,
        top_size=settings.top_size,
        max_branching=settings.max_branching,
        seed=settings.seed,
    )
    account_codes = np.unique(np.asarray(accounts, dtype=object), return_inverse=True)[1]
    background = list(summaries[:MAX_BACKGROUND_TEXTS])
    namer = namer_factory(background, settings.min_accounts)
    base_labels, base_requests = _label_base(
        hierarchy, vectors, summaries, accounts, conversation_keys, namer, settings.seed
    )
    labels_by_level = [base_labels]
    audits_by_level = [audit_all(auditor, base_labels, base_requests)]
    for level in range(1, len(hierarchy.centroids)):
        # A fallback name carries no topic, so parents are named without it.
        child_names = [
            label.name if audit.passed and label.name != FALLBACK_NAME else None
            for label, audit in zip(labels_by_level[-1], audits_by_level[-1], strict=True)
        ]
        labels, requests = _label_parents(level, hierarchy, child_names, namer_factory)
        labels_by_level.append(labels)
        audits_by_level.append(audit_all(auditor, labels, requests))

    rows: list[ClusterRow] = []
    point_ids: list[list[str]] = []
    published: list[list[bool]] = []
    for level, labels in enumerate(labels_by_level):
        point_labels = hierarchy.point_labels(level)
        point_ids.append([cluster_id(level, int(label)) for label in point_labels])
        sizes = np.bincount(point_labels, minlength=len(labels))
        # Distinct accounts per cluster: unique (cluster, account) pairs, counted by cluster.
        pairs = np.unique(np.stack([point_labels, account_codes]), axis=1)
        account_counts = np.bincount(pairs[0], minlength=len(labels))
        level_published = []
        for index, label in enumerate(labels):
            audit = audits_by_level[level][index]
            reasons = []
            if not audit.passed:
                reasons.append(f"label failed the audit: {audit.reason}")
            if sizes[index] < settings.min_conversations:
                reasons.append(f"fewer than {settings.min_conversations} conversations")
            if account_counts[index] < settings.min_accounts:
                reasons.append(f"fewer than {settings.min_accounts} accounts")
            level_published.append(not reasons)
            parent = (
                cluster_id(level + 1, int(hierarchy.assignments[level + 1][index]))
                if level + 1 < len(labels_by_level)
                else None
            )
            rows.append(
                ClusterRow(
                    cluster_id=cluster_id(level, index),
                    level=level,
                    parent_cluster_id=parent,
                    published_parent_id=None,
                    # A label that failed the audit is never stored.
                    name=label.name if audit.passed else None,
                    description=label.description if audit.passed else None,
                    conversation_count=int(sizes[index]),
                    account_count=int(account_counts[index]),
                    is_published=not reasons,
                    suppression_reason="; ".join(reasons) or None,
                )
            )
        published.append(level_published)
    rows = _link_published_parents(rows, hierarchy, published)
    return ClusterResult(hierarchy, rows, point_ids)


def _link_published_parents(
    rows: list[ClusterRow], hierarchy: Hierarchy, published: list[list[bool]]
) -> list[ClusterRow]:
    """Point every cluster at its nearest published ancestor (None when there is none)."""
    linked = []
    for row in rows:
        index = int(row.cluster_id.split("-")[1])
        ancestor = None
        level = row.level
        while level + 1 < len(hierarchy.assignments):
            index = int(hierarchy.assignments[level + 1][index])
            level += 1
            if published[level][index]:
                ancestor = cluster_id(level, index)
                break
        linked.append(ClusterRow(**{**row.__dict__, "published_parent_id": ancestor}))
    return linked
