"""`make run`: materialize every asset in-process and print where the results are."""

from __future__ import annotations

import sys
import time

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.dagster_home import ensure_dagster_home
from orchestration.definitions import ALL_ASSETS, build_resources
from orchestration.defs.conversations.assets import today_partition
from orchestration.defs.tagging.resource import BACKENDS
from orchestration.marts import CLUSTER_MART_NAMES, MART_NAMES

# Step-level DEBUG events would bury the summary; INFO keeps progress and counts.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def mart_row_counts(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """Return (mart, usage_source, rows) for every mart."""
    counts = []
    for mart in MART_NAMES:
        rows = connection.execute(
            f"select usage_source, count(*) from marts.{mart} group by 1 order by 1"
        ).fetchall()
        counts += [(mart, source, count) for source, count in rows] or [(mart, "(empty)", 0)]
    return counts


def run_metadata(result: dg.ExecuteInProcessResult, key: list[str]) -> dict:
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey(key):
            return {name: value.value for name, value in materialization.metadata.items()}
    return {}


def print_summary(result: dg.ExecuteInProcessResult, seconds: float) -> None:
    """Print what the run did and where its results are."""
    warehouse = settings.warehouse_path()
    conversations = run_metadata(result, ["raw", "conversations"])
    quarantine = run_metadata(result, ["raw", "quarantine"])
    tags = run_metadata(result, ["raw", "conversation_tags"])
    print(f"\nmaterialized every asset in {seconds:.0f} s")
    print(
        f"conversations: {conversations.get('loaded_this_run', 0)} loaded and "
        f"{conversations.get('updated_this_run', 0)} replaced by a newer export this run, "
        f"{conversations.get('dagster/row_count', 0)} in total; "
        f"{quarantine.get('quarantined_this_run', 0)} new records in raw.quarantine"
    )
    failed = tags.get("failed_this_run", 0)
    print(
        f"tags: {tags.get('tagged_this_run', 0)} conversations read by the "
        f"{tags.get('backend', '?')} backend this run, {failed} of them failed"
        + (" (reasons in raw.conversation_tags.status_reason)" if failed else "")
    )
    print(f"warehouse: {warehouse}")
    print("mart rows by flow:")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        for mart, source, count in mart_row_counts(connection):
            print(f"  marts.{mart:<24} {source:<12} {count:>6}")
        for mart in CLUSTER_MART_NAMES:
            count = connection.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            print(f"  marts.{mart:<24} {'pipeline':<12} {count:>6}")
    finally:
        connection.close()
    print(f"report: {settings.data_dir() / 'reports' / 'usage_report.md'}")
    print(f"clusters: {settings.data_dir() / 'reports' / 'clusters.html'}")
    print("UI: `make ui`, then open http://127.0.0.1:3000; dbt docs: `make docs`")


def main() -> int:
    mirror = settings.mirror_dir()
    if mirror is not None and not mirror.is_dir():
        print(
            f"{settings.ENV_DATA_MIRROR}={mirror} is not a directory: point it at a folder "
            "laid out like the publishers' files (an absolute path is safest), or unset it "
            "to download",
            file=sys.stderr,
        )
        return 2
    problem = settings.offline_tagging_problem()
    backend = settings.tagging_backend()
    if backend not in BACKENDS:
        problem = (
            f"{settings.ENV_TAGGING_BACKEND}={backend!r} is not a tagging backend; "
            f"use one of {', '.join(BACKENDS)}"
        )
    if problem:
        print(problem, file=sys.stderr)
        return 2
    print(f"data: {'mirror ' + str(mirror) if mirror else 'downloading from the publishers'}")
    ensure_dagster_home()
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            ALL_ASSETS,
            resources=build_resources(),
            instance=instance,
            partition_key=today_partition(),
            run_config=CONSOLE_INFO,
            raise_on_error=False,
        )
    if not result.success:
        failed = [
            event.step_key
            for event in result.all_events
            if event.event_type_value == "STEP_FAILURE"
        ]
        print(
            f"run failed in {', '.join(failed) or 'a step'}; the error is in the log above, "
            "and `make ui` shows the run",
            file=sys.stderr,
        )
        return 1
    print_summary(result, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
