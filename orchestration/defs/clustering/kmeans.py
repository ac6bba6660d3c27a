"""Base clusters by k-means and a hierarchy built by clustering each level's centroids."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from orchestration.defs.clustering.embedders import normalise_rows

KMEANS_PLUS_PLUS_MAX_K = 256
# Inputs up to this many rows use full k-means; larger ones use mini-batch k-means.
FULL_KMEANS_MAX_POINTS = 10_000


@dataclass(frozen=True)
class KMeansResult:
    """Labels (0 .. k_used - 1, every label used) and one centroid per label."""

    labels: np.ndarray
    centroids: np.ndarray
    k_requested: int
    k_used: int


@dataclass
class Hierarchy:
    """Clusters at every level: level 0 labels points, level l > 0 labels level l-1 clusters.

    `assignments[0][i]` is the base cluster of point i; `assignments[l][j]` is the parent at
    level l of cluster j of level l-1. `stop_reason` gives the reason no further level was built.
    """

    assignments: list[np.ndarray] = field(default_factory=list)
    centroids: list[np.ndarray] = field(default_factory=list)
    k_requested: list[int] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def level_sizes(self) -> list[int]:
        return [len(centroids) for centroids in self.centroids]

    def point_labels(self, level: int) -> np.ndarray:
        """Return the cluster of every point at the given level."""
        labels = self.assignments[0]
        for parents in self.assignments[1 : level + 1]:
            labels = parents[labels]
        return labels


def base_cluster_count(points: int, target_cluster_size: int) -> int:
    """Return the k that gives clusters of about target_cluster_size points (at least 1)."""
    if target_cluster_size < 1:
        raise ValueError(f"target cluster size must be 1 or more, got {target_cluster_size}")
    return max(1, round(points / target_cluster_size))


def kmeans(
    vectors: np.ndarray,
    k: int,
    *,
    seed: int,
    weights: np.ndarray | None = None,
) -> KMeansResult:
    """Cluster rows of vectors into at most k clusters with k-means.

    k is clamped to the number of distinct rows, so duplicates and tiny inputs work. Labels
    are renumbered so that every label in 0 .. k_used - 1 has at least one member, and
    centroids are the (weighted) means of the members, scaled to unit length.
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans

    count = len(vectors)
    if count == 0:
        raise ValueError("cannot cluster an empty set of vectors")
    distinct = len(np.unique(vectors, axis=0))
    k_used = max(1, min(k, distinct))
    if k_used == 1:
        labels = np.zeros(count, dtype=np.int64)
    elif count <= FULL_KMEANS_MAX_POINTS:
        # Full k-means moves a centre that loses its members, so small inputs (such as the
        # centroids of a level) keep every requested cluster.
        model = KMeans(n_clusters=k_used, n_init=3, random_state=seed)
        labels = model.fit_predict(vectors, sample_weight=weights).astype(np.int64)
    else:
        # k-means++ seeding costs about k passes over a sample of 3 * batch_size rows. Past a
        # few hundred clusters random seeding is used, which took 18 s rather than minutes
        # for 100,000 x 128 vectors and k = 2,000 (bench/bench_clusters.py, 2 cores).
        small_k = k_used <= KMEANS_PLUS_PLUS_MAX_K
        model = MiniBatchKMeans(
            n_clusters=k_used,
            init="k-means++" if small_k else "random",
            n_init=3 if small_k else 1,
            random_state=seed,
            batch_size=1024,
            max_no_improvement=10,
        )
        labels = model.fit_predict(vectors, sample_weight=weights).astype(np.int64)
    # Mini-batch k-means can leave a centre without members; drop it and renumber.
    _used, labels = np.unique(labels, return_inverse=True)
    k_used = int(labels.max()) + 1
    weight = np.ones(count, dtype=np.float64) if weights is None else weights.astype(np.float64)
    sums = np.zeros((k_used, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors * weight[:, None])
    centroids = normalise_rows(
        sums / np.bincount(labels, weights=weight, minlength=k_used)[:, None]
    )
    return KMeansResult(labels, centroids, k, k_used)


def level_targets(base_k: int, top_size: int, max_branching: int) -> tuple[list[int], str]:
    """Plan the cluster counts of the levels above the base, shrinking geometrically.

    The plan has at least two levels when the base has more than top_size clusters, and
    enough levels that no parent has more than about max_branching children on average.
    A level that would not be smaller than the one below ends the plan. Returns the counts
    and the reason the plan stops.
    """
    if top_size < 1:
        raise ValueError(f"top size must be 1 or more, got {top_size}")
    if max_branching < 2:
        raise ValueError(f"max branching must be 2 or more, got {max_branching}")
    if base_k <= top_size:
        return [], f"the base level has {base_k} clusters, at most the top size {top_size}"
    levels = max(2, math.ceil(math.log(base_k / top_size) / math.log(max_branching)))
    ratio = (base_k / top_size) ** (1 / levels)
    targets: list[int] = []
    previous = base_k
    for level in range(1, levels + 1):
        target = max(top_size, round(base_k / ratio**level))
        if target >= previous:
            return targets, f"level {level} would not shrink below {previous} clusters"
        targets.append(target)
        previous = target
    return targets, f"the top level has {previous} clusters, at most the top size {top_size}"


def build_hierarchy(
    vectors: np.ndarray,
    *,
    target_cluster_size: int,
    top_size: int,
    max_branching: int,
    seed: int,
) -> Hierarchy:
    """Cluster points into base clusters, then cluster centroids level by level to top_size.

    Each level above the base clusters the centroids of the level below, weighted by their
    number of points, and is strictly smaller than it.
    """
    hierarchy = Hierarchy()
    base_k = base_cluster_count(len(vectors), target_cluster_size)
    base = kmeans(vectors, base_k, seed=seed)
    hierarchy.assignments.append(base.labels)
    hierarchy.centroids.append(base.centroids)
    hierarchy.k_requested.append(base_k)
    sizes = np.bincount(base.labels, minlength=base.k_used).astype(np.float64)

    targets, hierarchy.stop_reason = level_targets(base.k_used, top_size, max_branching)
    for target in targets:
        below = hierarchy.centroids[-1]
        if target >= len(below):
            # Mini-batch k-means left the level below with fewer clusters than planned.
            hierarchy.stop_reason = (
                f"level {len(hierarchy.centroids)} would not shrink below {len(below)} clusters"
            )
            break
        level = kmeans(below, target, seed=seed, weights=sizes)
        hierarchy.assignments.append(level.labels)
        hierarchy.centroids.append(level.centroids)
        hierarchy.k_requested.append(target)
        sizes = np.bincount(level.labels, weights=sizes, minlength=level.k_used)
    return hierarchy
