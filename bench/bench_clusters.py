"""Measure clustering on synthetic request summaries: time per stage and peak memory.

Generates --count summaries from fixed templates and word lists (no third-party data),
with one account per 20 summaries. Then it runs the stages of the clustering assets: fit
the TF-IDF + SVD embedder, encode in batches, build the k-means hierarchy, and name, audit
and threshold every cluster. Thread pools are limited to --threads before numpy loads. The
last line printed is a JSON summary. Writing to the warehouse is not included.

Example: .venv/bin/python bench/bench_clusters.py --count 100000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections import Counter

TEMPLATES = (
    "How do I fix a {error} error in my {language} {thing}?",
    "Write a {tone} poem about the {nature} at {time}.",
    "Help me write a cover letter for a {job} position.",
    "Explain how {science} works in simple terms for a {audience}.",
    "Give me a recipe for {dish} with {ingredient} and {ingredient2}.",
    "Plan a {days} day trip with {activity} and {activity2} on a small budget.",
    "Summarise this {document} about {business} for my {audience}.",
    "Translate this {document} into {human_language} and keep a {tone} tone.",
    "What exercises help with {body} pain after {activity}?",
    "Draft an email to my {relation} about the {business} meeting.",
)
WORDS = {
    "error": ("type", "index", "key", "value", "import", "syntax", "memory", "timeout"),
    "language": ("python", "javascript", "sql", "rust", "java", "bash"),
    "thing": ("script", "function", "query", "loop", "class", "test"),
    "tone": ("gentle", "funny", "formal", "sad", "hopeful"),
    "nature": ("sea", "moon", "forest", "rain", "mountains", "river"),
    "time": ("night", "dawn", "winter", "noon"),
    "job": ("nurse", "teacher", "developer", "cashier", "accountant", "electrician"),
    "science": ("photosynthesis", "inflation", "gravity", "vaccines", "compound interest"),
    "audience": ("child", "manager", "student", "team", "customer"),
    "dish": ("soup", "curry", "bread", "pasta", "salad", "stew"),
    "ingredient": ("garlic", "tomato", "beans", "rice", "spinach"),
    "ingredient2": ("lemon", "cheese", "mushrooms", "ginger"),
    "days": ("two", "three", "five", "seven"),
    "activity": ("hiking", "museums", "cycling", "swimming", "running"),
    "activity2": ("markets", "beaches", "concerts", "food tours"),
    "document": ("report", "contract", "article", "letter", "policy"),
    "business": ("budget", "sales", "hiring", "marketing", "supply chain"),
    "human_language": ("french", "spanish", "german", "japanese"),
    "body": ("back", "knee", "shoulder", "neck"),
    "relation": ("manager", "landlord", "colleague", "client"),
}


def synthetic_summaries(count: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    # Two extra words from the pooled lists make most summaries distinct, so k is not
    # clamped to the few hundred distinct template fillings.
    pooled = sorted({word for words in WORDS.values() for word in words})
    summaries = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        text = template.format(**{key: rng.choice(words) for key, words in WORDS.items()})
        summaries.append(f"{text} Mention {rng.choice(pooled)} and {rng.choice(pooled)}.")
    accounts = [f"account-{index // 20}" for index in range(count)]
    return summaries, accounts


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="summaries to cluster")
    parser.add_argument("--threads", type=int, default=2, help="threads for numpy and BLAS")
    parser.add_argument(
        "--target-size", type=int, default=50, help="conversations per base cluster"
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="summaries per encode batch")
    arguments = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(arguments.threads)

    import numpy as np

    from orchestration.defs.clustering.embedders import TfidfSvdEmbedder
    from orchestration.defs.clustering.kmeans import build_hierarchy
    from orchestration.defs.clustering.naming import build_namer
    from orchestration.defs.clustering.privacy import OfflineAuditor
    from orchestration.defs.clustering.topics import ClusterSettings, cluster_summaries

    stages: dict[str, float] = {}
    started = time.perf_counter()
    summaries, accounts = synthetic_summaries(arguments.count, seed=20241204)
    stages["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    embedder = TfidfSvdEmbedder()
    embedder.fit(summaries)
    stages["embed_fit"] = time.perf_counter() - started

    started = time.perf_counter()
    batches = [
        embedder.encode(summaries[start : start + arguments.batch_size])
        for start in range(0, len(summaries), arguments.batch_size)
    ]
    vectors = np.concatenate(batches)
    del batches
    stages["embed_encode"] = time.perf_counter() - started

    settings = ClusterSettings(target_cluster_size=arguments.target_size)
    started = time.perf_counter()
    hierarchy = build_hierarchy(
        vectors,
        target_cluster_size=settings.target_cluster_size,
        top_size=settings.top_size,
        max_branching=settings.max_branching,
        seed=settings.seed,
    )
    stages["kmeans_hierarchy"] = time.perf_counter() - started

    # cluster_summaries builds the same hierarchy again (same seed), then names and audits.
    started = time.perf_counter()
    result = cluster_summaries(
        vectors,
        summaries,
        accounts,
        settings,
        lambda background, minimum: build_namer("offline", background, min_term_documents=minimum),
        OfflineAuditor(),
    )
    stages["name_audit_threshold"] = time.perf_counter() - started - stages["kmeans_hierarchy"]
    if result.hierarchy.level_sizes != hierarchy.level_sizes:
        print("the hierarchy differed between two runs with one seed", file=sys.stderr)
        return 1

    withheld = sum(not row.is_published for row in result.clusters)
    reasons = Counter(row.suppression_reason for row in result.clusters if row.suppression_reason)
    summary = {
        "count": arguments.count,
        "threads": arguments.threads,
        "cpu_count": os.cpu_count(),
        "levels": hierarchy.level_sizes,
        "stop_reason": hierarchy.stop_reason,
        "withheld_clusters": withheld,
        "withheld_reasons": dict(reasons.most_common()),
        "seconds": {name: round(value, 1) for name, value in stages.items()},
        "total_seconds": round(sum(stages.values()), 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    for name, value in stages.items():
        print(f"{name:<22} {value:8.1f} s")
    print(f"levels {hierarchy.level_sizes}; {withheld} clusters withheld")
    print(f"peak RSS {summary['peak_rss_mib']} MiB")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
