"""The tagging resource: which backend tags conversations, and how it is built."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.defs.tagging.offline import OfflineTagger, TaskStatement

BACKENDS = ("offline",)


class Tagging(dg.ConfigurableResource):
    """Tags conversations with an O*NET task and an interaction mode."""

    backend: str = "offline"
    # Conversations tagged and written per batch, so memory stays bounded.
    batch_size: int = 500
    min_similarity: float | None = None

    def build_tagger(self, connection: duckdb.DuckDBPyConnection) -> OfflineTagger:
        """Build the backend once per run from the loaded task statements."""
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown tagging backend {self.backend!r}; use one of {', '.join(BACKENDS)}"
            )
        rows = connection.execute(
            "select task_id, task_statement, occupation_title from raw.onet_task_statements"
        ).fetchall()
        statements = [TaskStatement(int(task_id), text, title) for task_id, text, title in rows]
        if self.min_similarity is None:
            return OfflineTagger(statements)
        return OfflineTagger(statements, min_similarity=self.min_similarity)
