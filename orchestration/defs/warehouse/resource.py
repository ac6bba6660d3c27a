"""The DuckDB warehouse shared by the Python assets and dbt."""

from __future__ import annotations

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
