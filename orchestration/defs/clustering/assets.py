"""Clustering assets: facets, summary embeddings, clusters, and the HTML page of clusters."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

from collections.abc import Iterator

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from orchestration import settings
from orchestration.defs.clustering.claude import (
    AUDIT_PURPOSE,
    NAME_PURPOSE,
    ClaudeAuditor,
    ClaudeNamer,
    build_cluster_runner,
    prune_unused_cache,
)
from orchestration.defs.clustering.embedders import build_embedder, text_sha256
from orchestration.defs.clustering.facets import Facets, conversation_facets
from orchestration.defs.clustering.naming import build_namer
from orchestration.defs.clustering.page import read_published_clusters, render_page
from orchestration.defs.clustering.privacy import build_auditor
from orchestration.defs.clustering.resource import Clustering
from orchestration.defs.clustering.tables import ensure_cluster_tables
from orchestration.defs.clustering.topics import cluster_summaries
from orchestration.defs.tagging.records import ensure_tag_table
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

GROUP = "clustering"
CLUSTER_KEYS = [dg.AssetKey(["raw", "clusters"]), dg.AssetKey(["raw", "cluster_memberships"])]
CLUSTER_MART_KEYS = [dg.AssetKey(["marts", "clusters"]), dg.AssetKey(["marts", "cluster_mix"])]
PAGE_NAME = "clusters.html"


def _missing_facet_batches(
    connection: duckdb.DuckDBPyConnection, batch_size: int
) -> Iterator[list[tuple]]:
    """Yield conversations without facets, with their first request and latest model summary.

    Pages by key, so each query reads at most one batch.
    """
    last_key = ("", "")
    while True:
        rows = connection.execute(
            """
            with pending as (
                select conversations.source, conversations.conversation_id,
                    conversations.user_turn_count
                from raw.conversations as conversations
                where (conversations.source, conversations.conversation_id) > (?, ?)
                    and not exists (
                        select 1 from raw.conversation_facets as facets
                        where facets.source = conversations.source
                            and facets.conversation_id = conversations.conversation_id
                    )
                order by conversations.source, conversations.conversation_id
                limit ?
            ),
            first_requests as (
                select messages.source, messages.conversation_id, messages.content,
                    row_number() over (
                        partition by messages.source, messages.conversation_id
                        order by messages.message_index
                    ) as position
                from raw.messages as messages
                inner join pending using (source, conversation_id)
                where messages.role = 'user'
            ),
            tags as (
                select tags.source, tags.conversation_id, tags.summary, tags.language,
                    tags.backend,
                    row_number() over (
                        partition by tags.source, tags.conversation_id
                        order by tags.tagged_at desc
                    ) as position
                from raw.conversation_tags as tags
                inner join pending using (source, conversation_id)
                where coalesce(tags.status, 'tagged') = 'tagged'
            )
            select pending.source, pending.conversation_id, coalesce(pending.user_turn_count, 0),
                coalesce(first_requests.content, ''),
                -- The offline tagger writes no summary; only a model backend's counts.
                case when tags.backend <> 'offline' then tags.summary end,
                tags.language
            from pending
            left join first_requests
                on first_requests.source = pending.source
                and first_requests.conversation_id = pending.conversation_id
                and first_requests.position = 1
            left join tags
                on tags.source = pending.source
                and tags.conversation_id = pending.conversation_id
                and tags.position = 1
            order by pending.source, pending.conversation_id
            """,
            [*last_key, batch_size],
        ).fetchall()
        if not rows:
            return
        last_key = (rows[-1][0], rows[-1][1])
        yield rows


def _write_facets(connection: duckdb.DuckDBPyConnection, facets: list[Facets]) -> None:
    connection.executemany(
        """
        insert into raw.conversation_facets
            (source, conversation_id, summary, language, turn_count, summary_method)
        values (?, ?, ?, ?, ?, ?)
        on conflict do nothing
        """,
        [
            (f.source, f.conversation_id, f.summary, f.language, f.turn_count, f.summary_method)
            for f in facets
        ],
    )


@dg.asset(
    key=dg.AssetKey(["raw", "conversation_facets"]),
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[
        dg.AssetKey(["raw", "conversations"]),
        dg.AssetKey(["raw", "messages"]),
        dg.AssetKey(["raw", "conversation_tags"]),
    ],
)
def conversation_facets_table(
    context: dg.AssetExecutionContext, clustering: Clustering, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One privacy-preserving request summary, language and turn count per conversation.

    A model backend's summary is used when the tags have one. Otherwise the summary is the
    scrubbed first request, cut short, with names, places and other proper nouns removed.
    """
    built = 0
    with warehouse.connect() as connection:
        ensure_tag_table(connection)
        ensure_cluster_tables(connection)
        # An offline summary gives way to a model summary that arrived since.
        replaced = connection.execute(
            """
            delete from raw.conversation_facets as facets
            where facets.summary_method = 'offline'
                and exists (
                    select 1 from raw.conversation_tags as tags
                    where tags.source = facets.source
                        and tags.conversation_id = facets.conversation_id
                        and tags.backend <> 'offline'
                        and tags.summary is not null
                        and coalesce(tags.status, 'tagged') = 'tagged'
                )
            """
        ).fetchone()[0]
        for rows in _missing_facet_batches(connection, clustering.batch_size):
            facets = [
                conversation_facets(
                    source, conversation_id, first_request, turns, tag_summary, tag_language
                )
                for source, conversation_id, turns, first_request, tag_summary, tag_language in rows
            ]
            connection.execute("begin transaction")
            _write_facets(connection, facets)
            connection.execute("commit")
            built += len(facets)
        total, from_model = connection.execute(
            "select count(*), count(*) filter (where summary_method = 'model') "
            "from raw.conversation_facets"
        ).fetchone()
    context.log.info("built facets of %d conversations", built)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "built_this_run": built,
            "replaced_by_model_summary": replaced,
            "model_summaries": from_model,
        }
    )


def _missing_embedding_batches(
    connection: duckdb.DuckDBPyConnection, embedder: str, batch_size: int
) -> Iterator[list[tuple[str, str, str]]]:
    last_key = ("", "")
    while True:
        rows = connection.execute(
            """
            select facets.source, facets.conversation_id, facets.summary
            from raw.conversation_facets as facets
            where (facets.source, facets.conversation_id) > (?, ?)
                and not exists (
                    select 1 from raw.summary_embeddings as embeddings
                    where embeddings.source = facets.source
                        and embeddings.conversation_id = facets.conversation_id
                        and embeddings.embedder = ?
                )
            order by facets.source, facets.conversation_id
            limit ?
            """,
            [*last_key, embedder, batch_size],
        ).fetchall()
        if not rows:
            return
        last_key = (rows[-1][0], rows[-1][1])
        yield rows


def _cached_vectors(
    connection: duckdb.DuckDBPyConnection, embedder: str, hashes: list[str]
) -> dict[str, list[float]]:
    connection.execute("create or replace temporary table embedding_hashes (text_sha256 varchar)")
    connection.executemany("insert into embedding_hashes values (?)", [(h,) for h in set(hashes)])
    rows = connection.execute(
        """
        select embeddings.text_sha256, any_value(embeddings.embedding)
        from raw.summary_embeddings as embeddings
        inner join embedding_hashes using (text_sha256)
        where embeddings.embedder = ?
        group by embeddings.text_sha256
        """,
        [embedder],
    ).fetchall()
    return dict(rows)


@dg.asset(
    key=dg.AssetKey(["raw", "summary_embeddings"]),
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[dg.AssetKey(["raw", "conversation_facets"])],
)
def summary_embeddings(
    context: dg.AssetExecutionContext, clustering: Clustering, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One unit-length vector per summary, computed in batches and reused by text hash."""
    embedder = build_embedder(clustering.embedder_name(), seed=clustering.seed)
    encoded = reused = 0
    with warehouse.connect() as connection:
        ensure_cluster_tables(connection)
        # Fitting reads a bounded, deterministic sample: the summaries first in hash order.
        fit_texts = [
            text
            for (text,) in connection.execute(
                "select summary from raw.conversation_facets "
                "group by summary order by sha256(summary) limit 50000"
            ).fetchall()
        ]
        embedder.fit(fit_texts)
        del fit_texts
        # Vectors of another embedder (or of an earlier fit) are never read again.
        stale = connection.execute(
            "delete from raw.summary_embeddings where embedder <> ?", [embedder.name]
        ).fetchone()[0]
        for rows in _missing_embedding_batches(connection, embedder.name, clustering.batch_size):
            hashes = [text_sha256(summary) for _source, _id, summary in rows]
            cached = _cached_vectors(connection, embedder.name, hashes)
            missing = sorted(
                {h: s for h, (_a, _b, s) in zip(hashes, rows) if h not in cached}.items()
            )
            if missing:
                vectors = embedder.encode([summary for _hash, summary in missing])
                for (text_hash, _summary), vector in zip(missing, vectors, strict=True):
                    cached[text_hash] = vector.tolist()
            encoded += len(missing)
            reused += len(rows) - len(missing)
            connection.execute("begin transaction")
            connection.executemany(
                "insert into raw.summary_embeddings values (?, ?, ?, ?, ?) on conflict do nothing",
                [
                    (source, conversation_id, embedder.name, text_hash, cached[text_hash])
                    for (source, conversation_id, _summary), text_hash in zip(rows, hashes)
                ],
            )
            connection.execute("commit")
        total = connection.execute("select count(*) from raw.summary_embeddings").fetchone()[0]
    context.log.info("embedded %d summaries, reused %d stored vectors", encoded, reused)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "embedder": embedder.name,
            "encoded_this_run": encoded,
            "reused_this_run": reused,
            "stale_vectors_deleted": stale,
        }
    )


def _load_points(connection: duckdb.DuckDBPyConnection):
    embedders = connection.execute(
        "select distinct embedder from raw.summary_embeddings"
    ).fetchall()
    if len(embedders) > 1:
        raise ValueError(
            f"raw.summary_embeddings holds vectors of {len(embedders)} embedders; "
            "materialize raw/summary_embeddings again to keep only the current one"
        )
    rows = connection.execute(
        """
        select embeddings.source, embeddings.conversation_id, embeddings.embedding,
            facets.summary,
            coalesce(conversations.account_id,
                conversations.source || ':' || conversations.conversation_id)
        from raw.summary_embeddings as embeddings
        inner join raw.conversation_facets as facets
            using (source, conversation_id)
        inner join raw.conversations as conversations
            using (source, conversation_id)
        order by embeddings.source, embeddings.conversation_id
        """
    ).fetchall()
    embedder = embedders[0][0] if embedders else "none"
    return embedder, rows


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CLUSTER_KEYS[0],
            description="One row per cluster and level: name, counts, publication decision.",
            deps=[dg.AssetKey(["raw", "summary_embeddings"])],
            group_name=GROUP,
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            CLUSTER_KEYS[1],
            description="One row per conversation and level: the cluster it belongs to.",
            deps=[dg.AssetKey(["raw", "summary_embeddings"])],
            group_name=GROUP,
            kinds={"duckdb"},
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def conversation_clusters(
    context: dg.AssetExecutionContext,
    clustering: Clustering,
    tagging: Tagging,
    warehouse: Warehouse,
) -> Iterator[dg.MaterializeResult]:
    """Cluster the summaries by k-means, build the levels above, name, audit and threshold.

    Rebuilt from scratch on every run with a fixed seed, so the same summaries give the
    same clusters and a forgotten account leaves no trace in them. With the claude or
    replay tagging backend, Claude names and audits the clusters unless configured
    otherwise.
    """
    cluster_settings = clustering.cluster_settings()
    namer_name = clustering.resolved_namer(tagging.backend)
    auditor_name = clustering.resolved_auditor(tagging.backend)
    with warehouse.connect() as connection:
        ensure_cluster_tables(connection)
        runner = None
        claude_namer = None
        if "claude" in (namer_name, auditor_name):
            runner = build_cluster_runner(tagging, connection, context.log.info)
        if namer_name == "claude":
            claude_namer = ClaudeNamer(runner, tagging.model, tagging.prices())
        if auditor_name == "claude":
            auditor = ClaudeAuditor(
                runner, tagging.model, tagging.prices(), clustering.min_privacy_rating
            )
        else:
            auditor = build_auditor(auditor_name)
        embedder, rows = _load_points(connection)
        clusters = []
        memberships = []
        level_sizes: list[int] = []
        stop_reason = "no conversations to cluster"
        if rows:
            vectors = np.asarray([row[2] for row in rows], dtype=np.float32)
            summaries = [row[3] for row in rows]
            accounts = [row[4] for row in rows]
            result = cluster_summaries(
                vectors,
                summaries,
                accounts,
                cluster_settings,
                lambda background, minimum: claude_namer
                or build_namer(namer_name, background, min_term_documents=minimum),
                auditor,
                conversation_keys=[(row[0], row[1]) for row in rows],
            )
            del vectors
            clusters = result.clusters
            level_sizes = result.hierarchy.level_sizes
            stop_reason = result.hierarchy.stop_reason
            memberships = [
                (row[0], row[1], level, ids[index])
                for level, ids in enumerate(result.point_cluster_ids)
                for index, row in enumerate(rows)
            ]
        connection.execute("begin transaction")
        connection.execute("delete from raw.clusters")
        connection.execute("delete from raw.cluster_memberships")
        # An empty warehouse (or one whose every account was forgotten) has no clusters.
        if clusters:
            connection.executemany(
                """
                insert into raw.clusters (
                    cluster_id, level, parent_cluster_id, published_parent_id, name, description,
                    conversation_count, account_count, is_published, suppression_reason,
                    embedder, namer, auditor
                )
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    (
                        c.cluster_id,
                        c.level,
                        c.parent_cluster_id,
                        c.published_parent_id,
                        c.name,
                        c.description,
                        c.conversation_count,
                        c.account_count,
                        c.is_published,
                        c.suppression_reason,
                        embedder,
                        namer_name,
                        auditor.name,
                    )
                    for c in clusters
                ],
            )
            membership_frame = pd.DataFrame(
                memberships, columns=["source", "conversation_id", "level", "cluster_id"]
            )
            connection.register("membership_frame", membership_frame)
            connection.execute(
                "insert into raw.cluster_memberships "
                "select source, conversation_id, level, cluster_id from membership_frame"
            )
            connection.unregister("membership_frame")
        pruned = 0
        # Replay writes no cache rows, so it has none of its own to prune.
        if tagging.backend == "claude":
            if claude_namer is not None:
                pruned += prune_unused_cache(connection, NAME_PURPOSE, claude_namer.used_keys)
            if isinstance(auditor, ClaudeAuditor):
                pruned += prune_unused_cache(connection, AUDIT_PURPOSE, auditor.used_keys)
        connection.execute("commit")
    withheld = sum(not c.is_published for c in clusters)
    failed_audit = sum(c.name is None for c in clusters)
    context.log.info(
        "built %d clusters over %d levels (%s); %d withheld, %d failed the audit",
        len(clusters),
        len(level_sizes),
        stop_reason,
        withheld,
        failed_audit,
    )
    yield dg.MaterializeResult(
        asset_key=CLUSTER_KEYS[0],
        metadata={
            "dagster/row_count": len(clusters),
            "clusters_per_level": dg.MetadataValue.json(level_sizes),
            "stop_reason": stop_reason,
            "withheld": withheld,
            "failed_audit": failed_audit,
            "namer": namer_name,
            "auditor": auditor.name,
            "pruned_cache_rows": pruned,
            **(runner.totals.as_metadata() if runner is not None else {}),
        },
    )
    yield dg.MaterializeResult(
        asset_key=CLUSTER_KEYS[1], metadata={"dagster/row_count": len(memberships)}
    )


@dg.asset(group_name="report", pool=WAREHOUSE_POOL, deps=CLUSTER_MART_KEYS, kinds={"html"})
def clusters_page(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Write the published cluster hierarchy as one static HTML page to data/reports/."""
    with warehouse.connect() as connection:
        published = read_published_clusters(connection)
    path = settings.data_dir() / "reports" / PAGE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(published), encoding="utf-8")
    context.log.info("wrote %s", path)
    return dg.MaterializeResult(
        metadata={"path": str(path), "published_clusters": len(published.clusters)}
    )
