"""Materialize the whole asset graph the way `make run` does, against a chosen mirror."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

# A fixed day, so reruns in one test land in the same ingestion partition.
PARTITION = "2025-01-15"


def materialize_all(
    mirror: Path,
    *,
    verify_checksums: bool = False,
    load_public_samples: bool = True,
    load_format_samples: bool = False,
    inbox: Path | None = None,
    partition: str = PARTITION,
    forget_account: str | None = None,
    keep_original_text: bool = False,
    tagging: object | None = None,
) -> dg.ExecuteInProcessResult:
    """Run every asset in-process; the warehouse comes from WAREHOUSE_PATH.

    tagging replaces the Tagging resource, to run the claude or replay backend.
    """
    from orchestration.definitions import ALL_ASSETS, build_resources
    from orchestration.defs.conversations.resource import Ingestion
    from orchestration.defs.reference.resource import ReferenceData

    resources = build_resources()
    resources["reference"] = ReferenceData(
        mirror_dir=str(mirror), verify_checksums=verify_checksums
    )
    resources["ingestion"] = Ingestion(
        inbox_dir=str(inbox) if inbox else None,
        load_public_samples=load_public_samples,
        load_format_samples=load_format_samples,
        keep_original_text=keep_original_text,
    )
    if tagging is not None:
        resources["tagging"] = tagging
    run_config = {}
    if forget_account is not None:
        run_config = {
            "ops": {"conversation_tables": {"config": {"forget_account": forget_account}}}
        }
    return dg.materialize(
        ALL_ASSETS,
        resources=resources,
        partition_key=partition,
        run_config=run_config,
    )


def materialization_metadata(result: dg.ExecuteInProcessResult, key: list[str]) -> dict:
    """Return the metadata values of one asset's materialization in a run."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey(key):
            return {name: value.value for name, value in materialization.metadata.items()}
    raise KeyError(f"no materialization of {key} in the run")


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    """Run one read-only query and close the connection, so no lock outlives it."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql, parameters or []).fetchall()
    finally:
        connection.close()
