"""The DuckDB warehouse shared by the Python assets and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import settings

# DuckDB allows one writer process. Every asset that opens the file runs in this pool, whose
# limit is 1 in dagster.yaml, and closes its connection before the step ends so dbt can open it.
WAREHOUSE_POOL = "duckdb_warehouse"


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file that contains raw tables, tags and the dbt models."""

    # WAREHOUSE_PATH, or data/warehouse.duckdb, when unset; read at run time.
    path: str | None = None

    def resolved_path(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.warehouse_path()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection for one step and always close it, so no lock outlives the step."""
        path = self.resolved_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(str(path))
        try:
            yield connection
        finally:
            connection.close()


def compact_warehouse(path: Path) -> None:
    """Rewrite the warehouse file so that deleted rows leave no bytes behind.

    DuckDB frees the blocks of deleted rows for reuse without overwriting them, so text that
    forgetting removed could still be read from the file. Copying every schema into a new
    file and putting it in the old one's place removes it.
    """
    compacted = path.with_name(path.name + ".compact")
    compacted.unlink(missing_ok=True)
    connection = duckdb.connect(str(path))
    try:
        name = connection.execute("select current_database()").fetchone()[0]
        connection.execute(f"attach '{compacted}' as compacted")
        connection.execute(f'copy from database "{name}" to compacted')
        connection.execute("detach compacted")
    finally:
        connection.close()
    os.replace(compacted, path)
