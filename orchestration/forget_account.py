"""`make forget ACCOUNT=...`: delete one account's data everywhere, then rebuild the marts."""

from __future__ import annotations

import argparse
import sys

import dagster as dg

from orchestration.dagster_home import ensure_dagster_home
from orchestration.definitions import ALL_ASSETS, build_resources
from orchestration.defs.conversations.assets import conversation_tables, today_partition
from orchestration.defs.conversations.forget import account_hash
from orchestration.defs.conversations.resource import Ingestion
from orchestration.defs.warehouse.resource import Warehouse, compact_warehouse
from orchestration.run import CONSOLE_INFO, run_metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("account", help="the account id as exported, or its stored acct_ hash")
    arguments = parser.parse_args(argv)
    if not arguments.account.strip():
        parser.error("the account id is empty: pass ACCOUNT=<id>")

    # The run config holds only the keyed hash, so the raw id never reaches run storage.
    hashed = account_hash(arguments.account.strip(), Ingestion().account_key())
    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            ALL_ASSETS,
            selection=dg.AssetSelection.assets(conversation_tables).downstream(),
            resources=build_resources(),
            instance=instance,
            partition_key=today_partition(),
            run_config={
                **CONSOLE_INFO,
                "ops": {"conversation_tables": {"config": {"forget_account": hashed}}},
            },
            raise_on_error=False,
        )
    if not result.success:
        print("forgetting failed; the error is in the log above", file=sys.stderr)
        return 1
    # Deleted rows stay readable in DuckDB's free blocks until the file is rewritten.
    compact_warehouse(Warehouse().resolved_path())
    deleted = run_metadata(result, ["raw", "conversations"]).get("rows_deleted", {})
    summary = ", ".join(f"{count} from raw.{table}" for table, count in deleted.items())
    print(f"forgot account {hashed} ({summary or 'no rows found'}) rebuilt the marts and rewrote the warehouse file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
