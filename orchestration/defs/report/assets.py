"""The usage report: a Markdown summary of the marts written next to the warehouse."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

import dagster as dg

from orchestration import settings
from orchestration.defs.report.render import render_report
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse
from orchestration.marts import MART_NAMES

MART_KEYS = [dg.AssetKey(["marts", name]) for name in MART_NAMES]


@dg.asset(group_name="report", pool=WAREHOUSE_POOL, deps=MART_KEYS, kinds={"markdown"})
def usage_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Write a Markdown report of the marts, both flows side by side, to data/reports/."""
    with warehouse.connect() as connection:
        text = render_report(connection)
    path = settings.data_dir() / "reports" / "usage_report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    context.log.info("wrote %s", path)
    return dg.MaterializeResult(
        metadata={"path": str(path), "preview": dg.MetadataValue.md(text[:3000])}
    )
