"""The tagging resource: which backend tags conversations, and how it is built."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.defs.tagging.offline import OfflineTagger, TaskStatement

BACKENDS = ("offline",)


class Tagging(dg.ConfigurableResource):
    """Tags conversations with an O*NET task and an interaction mode."""

    backend: str = "offline"
    # Conversations tagged and written per batch, so memory stays bounded.
    batch_size: int = 500
    min_similarity: float | None = None
    # Offline encoder: auto, embedding or tfidf; None reads TAGGING_ENCODER (default auto).
    encoder: str | None = None
    # Tag only with tasks that have a published usage share.
    # None reads TAGGING_USAGE_PRIOR (default on).
    use_usage_prior: bool | None = None

    def build_tagger(self, connection: duckdb.DuckDBPyConnection) -> OfflineTagger:
        """Build the backend once per run from the loaded task statements."""
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown tagging backend {self.backend!r}; use one of {', '.join(BACKENDS)}"
            )
        rows = connection.execute(
            """
            select task_id, task_statement, occupation_title, onet_soc_code
            from raw.onet_task_statements
            """
        ).fetchall()
        statements = [TaskStatement(int(row[0]), row[1], row[2], row[3]) for row in rows]
        use_prior = (
            settings.tagging_usage_prior()
            if self.use_usage_prior is None
            else (self.use_usage_prior)
        )
        options = {
            "encoder": self.encoder or settings.tagging_encoder(),
            "usage_shares": read_usage_shares(connection) if use_prior else None,
            "cache_dir": settings.embedding_cache_dir(),
        }
        if self.min_similarity is not None:
            options["min_similarity"] = self.min_similarity
        return OfflineTagger(statements, **options)


def read_usage_shares(connection: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Return the published usage share per lower-cased task statement from raw.aei_task_mappings."""
    exists = connection.execute(
        """
        select count(*) from information_schema.tables
        where table_schema = 'raw' and table_name = 'aei_task_mappings'
        """
    ).fetchone()[0]
    if not exists:
        raise RuntimeError(
            "raw.aei_task_mappings is missing, so the usage prior cannot be applied; "
            "materialize it first or set TAGGING_USAGE_PRIOR=0"
        )
    rows = connection.execute("select task_name, pct from raw.aei_task_mappings").fetchall()
    return {name.strip().lower(): float(pct) for name, pct in rows if name and pct}
