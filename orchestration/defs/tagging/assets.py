"""Tagging asset: each loaded conversation gets an O*NET task and an interaction mode."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

from collections import Counter

import dagster as dg

from orchestration.defs.tagging.records import ensure_tag_table
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.tagging.store import bring_forward, untagged_batches, write_tags
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

GROUP = "tagging"
# Tables that the claude, hybrid and replay backends read.
HIERARCHY_DEPS = [dg.AssetKey(["raw", "task_hierarchy"]), dg.AssetKey(["raw", "onet_skills"])]


@dg.asset(
    key=dg.AssetKey(["raw", "conversation_tags"]),
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[
        dg.AssetKey(["raw", "conversations"]),
        dg.AssetKey(["raw", "messages"]),
        dg.AssetKey(["raw", "onet_task_statements"]),
        *HIERARCHY_DEPS,
        # The offline tagger's usage prior reads the published task shares.
        dg.AssetKey(["raw", "aei_task_mappings"]),
    ],
)
def conversation_tags(
    context: dg.AssetExecutionContext, tagging: Tagging, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One tag per conversation: occupational or not, O*NET task, interaction mode.

    Conversations already tagged by the same backend, model and prompt version are skipped.
    """
    modes: Counter[str] = Counter()
    tagged = occupational = failed = 0
    with warehouse.connect() as connection:
        ensure_tag_table(connection)
        tagger = tagging.build_tagger(connection, log=context.log.info)
        context.log.info(
            "tagging with %s backend over %d tasks", tagging.backend, tagger.task_count
        )
        if hasattr(tagger, "learn"):
            tagger.learn(tagging.batch_size)
        # The hybrid backend counts a conversation as done when Claude or its learned
        # offline tagger has a row for it.
        done_by = getattr(tagger, "done_by", None) or [
            (tagger.backend, tagger.model, tagger.prompt_version)
        ]
        connection.execute("begin transaction")
        brought_forward = bring_forward(connection, done_by)
        connection.execute("commit")
        if brought_forward:
            context.log.info(
                "%d conversations tagged earlier with this setting count with its tags again",
                brought_forward,
            )
        for batch in untagged_batches(
            connection, *done_by[0], tagging.batch_size, also_done_by=done_by[1:]
        ):
            if getattr(tagger, "exhausted", False):
                context.log.info("budget reached: the remaining conversations stay untagged")
                break
            records = tagger.tag(batch)
            connection.execute("begin transaction")
            write_tags(connection, records)
            connection.execute("commit")
            # A hybrid conversation whose Claude request failed has a failed claude row and
            # the offline tag that counts in its place.
            counted = {
                (record.source, record.conversation_id): record
                for record in records
                if record.status != "failed"
            }
            tagged += len({(record.source, record.conversation_id) for record in records})
            occupational += sum(record.is_occupational for record in counted.values())
            modes.update(record.interaction_mode for record in counted.values())
            failed += sum(record.status == "failed" for record in records)
            context.log.info("tagged %d conversations so far", tagged)
        total = connection.execute("select count(*) from raw.conversation_tags").fetchone()[0]

    usage = tagger.usage_metadata() if hasattr(tagger, "usage_metadata") else {}
    run_stats = tagger.run_stats() if hasattr(tagger, "run_stats") else {}
    context.log.info(
        "tagged %d new conversations (%d occupational, %d failed)", tagged, occupational, failed
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "backend": tagging.backend,
            "model": tagger.model,
            "prompt_version": tagger.prompt_version,
            "tagged_this_run": tagged,
            "occupational_this_run": occupational,
            "modes_this_run": dg.MetadataValue.json(dict(modes)),
            "failed_this_run": failed,
            "brought_forward_this_run": brought_forward,
            **usage,
            **_language_metadata(run_stats),
        }
    )


def _language_metadata(run_stats: dict) -> dict:
    """Return the offline tagger's language counts as asset metadata (empty for Claude)."""
    if not run_stats:
        return {}
    return {
        "languages": dg.MetadataValue.json(run_stats["languages"]),
        "non_english_share": run_stats["non_english_share"],
        "untagged_share": run_stats["untagged_share"],
    }
