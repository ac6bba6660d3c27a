"""The task hierarchy asset: O*NET tasks grouped under middle and top groups."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

import dagster as dg

from orchestration.defs.hierarchy.build import (
    LEVEL_MIDDLE,
    LEVEL_TASK,
    LEVEL_TOP,
    MAX_TASKS_PER_GROUP,
)
from orchestration.defs.hierarchy.store import (
    build_from_warehouse,
    hierarchy_version,
    statement_release,
    write_hierarchy,
)
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse


@dg.asset(
    key=dg.AssetKey(["raw", "task_hierarchy"]),
    group_name="reference",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[
        dg.AssetKey(["raw", "onet_task_statements"]),
        dg.AssetKey(["raw", "onet_tasks_to_dwas"]),
        dg.AssetKey(["raw", "onet_dwa_reference"]),
        dg.AssetKey(["raw", "onet_content_model_reference"]),
    ],
)
def task_hierarchy(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Three levels for top-down tagging: top groups of O*NET work activities, middle groups
    (intermediate work activities, split above the task cap), then task statements."""
    with warehouse.connect() as connection:
        version = hierarchy_version(statement_release(connection))
        built = build_from_warehouse(connection)
        rows = write_hierarchy(connection, built, version)

    levels = built.level_counts()
    context.log.info(
        "built task hierarchy %s: %d top groups, %d middle groups, %d tasks",
        version,
        levels[LEVEL_TOP],
        levels[LEVEL_MIDDLE],
        levels[LEVEL_TASK],
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "hierarchy_version": version,
            "nodes_per_level": dg.MetadataValue.json({str(k): v for k, v in levels.items()}),
            "middle_groups_per_top_group": dg.MetadataValue.json(built.children_stats(LEVEL_TOP)),
            "tasks_per_middle_group": dg.MetadataValue.json(built.children_stats(LEVEL_MIDDLE)),
            "tasks_by_attachment": dg.MetadataValue.json(dict(built.attachment_counts)),
            "max_tasks_per_middle_group": MAX_TASKS_PER_GROUP,
        }
    )
