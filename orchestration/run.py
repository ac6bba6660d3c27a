"""`make run`: materialize every asset in-process and print where the results are."""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.dagster_home import ensure_dagster_home
from orchestration.definitions import ALL_ASSETS, build_resources

MARTS = (
    "task_usage",
    "occupation_usage",
    "soc_major_group_usage",
    "wage_usage",
    "occupation_depth",
    "interaction_mode_usage",
)


def mart_row_counts(warehouse: str) -> list[tuple[str, str, int]]:
    """Return (mart, usage_source, rows) for every mart; opened read-only after the run."""
    connection = duckdb.connect(warehouse, read_only=True)
    try:
        counts = []
        for mart in MARTS:
            rows = connection.execute(
                f"select usage_source, count(*) from marts.{mart} group by 1 order by 1"
            ).fetchall()
            counts += [(mart, source, count) for source, count in rows]
        return counts
    finally:
        connection.close()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ensure_dagster_home()
    started = time.monotonic()
    mirror = settings.mirror_dir()
    print(f"data: {'mirror ' + str(mirror) if mirror else 'downloading from the publishers'}")
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            ALL_ASSETS, resources=build_resources(), instance=instance, raise_on_error=False
        )
    if not result.success:
        print("run failed; the step errors are above, and `make ui` shows the run", file=sys.stderr)
        return 1

    warehouse = settings.warehouse_path()
    print(f"\nmaterialized every asset in {time.monotonic() - started:.0f} s")
    print(f"warehouse: {warehouse}")
    print("mart rows by flow:")
    for mart, source, count in mart_row_counts(str(warehouse)):
        print(f"  marts.{mart:<24} {source:<12} {count:>6}")
    print(f"report: {settings.data_dir() / 'reports' / 'usage_report.md'}")
    print("UI: `make ui`, then open http://127.0.0.1:3000; dbt docs: `make docs`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
