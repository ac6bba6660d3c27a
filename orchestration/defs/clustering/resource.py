"""Clustering settings as a Dagster resource, with environment overrides."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.defs.clustering.topics import ClusterSettings

ENV_TARGET_SIZE = "CLUSTER_TARGET_SIZE"
ENV_TOP_SIZE = "CLUSTER_TOP_SIZE"
ENV_EMBEDDER = "CLUSTER_EMBEDDER"
# Tagging backends whose API client the Claude namer and auditor share.
MODEL_BACKENDS = ("claude", "replay")


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


class Clustering(dg.ConfigurableResource):
    """Settings of the clustering stage: embedder, cluster sizes, namer, auditor, thresholds."""

    # Conversations per base cluster on average; CLUSTER_TARGET_SIZE overrides it.
    target_cluster_size: int = 50
    # Clusters at the top level at most; CLUSTER_TOP_SIZE overrides it.
    top_size: int = 10
    # Children per parent at most on average, which sets how many levels are built.
    max_branching: int = 10
    # A cluster is published only with this many conversations and distinct accounts.
    min_conversations: int = 15
    min_accounts: int = 5
    # "tfidf-svd", "e5-small" or "auto"; CLUSTER_EMBEDDER overrides it.
    embedder: str = "tfidf-svd"
    # "auto", "claude" or "offline". Auto uses Claude when the tagging backend is claude or
    # replay, and the offline namer and auditor otherwise.
    namer: str = "auto"
    auditor: str = "auto"
    # Lowest privacy rating (1 identifies an individual, 5 no one) the Claude auditor keeps.
    min_privacy_rating: int = 3
    seed: int = 0
    # Conversations read, summarised and embedded per batch, so memory stays bounded.
    batch_size: int = 2000

    def cluster_settings(self) -> ClusterSettings:
        return ClusterSettings(
            target_cluster_size=_env_int(ENV_TARGET_SIZE) or self.target_cluster_size,
            top_size=_env_int(ENV_TOP_SIZE) or self.top_size,
            max_branching=self.max_branching,
            min_conversations=self.min_conversations,
            min_accounts=self.min_accounts,
            seed=self.seed,
        )

    def embedder_name(self) -> str:
        return os.environ.get(ENV_EMBEDDER) or self.embedder

    def resolved_namer(self, tagging_backend: str) -> str:
        """Return "claude" or "offline" for the namer, resolving "auto" by the tagging backend."""
        return _resolve("namer", self.namer, tagging_backend)

    def resolved_auditor(self, tagging_backend: str) -> str:
        """Return "claude" or "offline" for the auditor, resolving "auto" by the tagging backend."""
        return _resolve("auditor", self.auditor, tagging_backend)


def _resolve(field: str, value: str, tagging_backend: str) -> str:
    if value == "auto":
        return "claude" if tagging_backend in MODEL_BACKENDS else "offline"
    if value not in ("claude", "offline"):
        raise ValueError(f"unknown cluster {field} {value!r}; use auto, claude or offline")
    if value == "claude" and tagging_backend not in MODEL_BACKENDS:
        raise ValueError(
            f"the claude cluster {field} needs the claude or replay tagging backend, which "
            f"holds the API settings; the tagging backend is {tagging_backend!r}"
        )
    return value
