"""Conversation ingestion: public samples and the user's inbox into raw tables."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.defs.conversations.load import LoadStats, ensure_tables, load_conversations
from orchestration.defs.conversations.parse import read_conversations
from orchestration.defs.reference.catalog import sample_conversation_files
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

GROUP = "conversations"
INBOX_PATTERNS = ("*.jsonl", "*.jsonl.gz")


class ConversationSettings(dg.Config):
    """Run settings: the conversation files to load."""

    # The public samples give `make run` real conversations to measure; turn them off to
    # measure only the files in the inbox.
    load_public_samples: bool = True
    # Folder of the user's own JSONL exports; CONVERSATION_INBOX when unset.
    inbox_dir: str | None = None


@dataclass(frozen=True)
class InputFile:
    path: Path
    source: str
    id_prefix: str
    origin: str


class EmptyInputError(ValueError):
    """A file held records but not one of them became a conversation."""


def inbox_files(inbox: Path) -> list[InputFile]:
    """List the inbox's JSONL files; each file's stem names its source."""
    paths = sorted({path for pattern in INBOX_PATTERNS for path in inbox.rglob(pattern)})
    return [
        InputFile(path, source="inbox", id_prefix=_stem(path.relative_to(inbox)), origin="inbox")
        for path in paths
    ]


def _stem(path: Path) -> str:
    name = path.as_posix()
    for suffix in (".gz", ".jsonl"):
        name = name.removesuffix(suffix)
    return name


def check_loaded(stats: LoadStats) -> None:
    """Raise when a file yielded no conversation at all, which usually means a wrong format."""
    if stats.read > 0 and stats.loaded + stats.already_loaded == 0:
        raise EmptyInputError(
            f"{stats.source_file}: {stats.read} records read but none is a conversation "
            f"({stats.quarantined} quarantined); see raw.quarantine for the reasons"
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["raw", "conversations"]),
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per conversation, keyed by (source, id).",
        ),
        dg.AssetSpec(
            dg.AssetKey(["raw", "messages"]),
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per scrubbed message of a loaded conversation.",
        ),
        dg.AssetSpec(
            dg.AssetKey(["raw", "quarantine"]),
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per record set aside, with file, line and reason.",
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def conversation_tables(
    context: dg.AssetExecutionContext,
    config: ConversationSettings,
    reference: ReferenceData,
    warehouse: Warehouse,
):
    """Load the public conversation samples and the inbox; a rerun adds nothing new."""
    inputs: list[InputFile] = []
    if config.load_public_samples:
        has_mirror = reference.resolved_mirror() is not None
        for sample in sample_conversation_files(has_mirror):
            fetched = reference.fetch(sample.remote)
            inputs.append(InputFile(fetched.path, sample.source, sample.id_prefix, fetched.origin))
    inbox_setting = config.inbox_dir or settings.conversation_inbox()
    if inbox_setting:
        inbox = Path(inbox_setting)
        if not inbox.is_dir():
            raise FileNotFoundError(f"conversation inbox {inbox} is not a directory")
        inputs.extend(inbox_files(inbox))

    per_file: dict[str, dict[str, int | str]] = {}
    with warehouse.connect() as connection:
        ensure_tables(connection)
        for item in inputs:
            context.log.info("reading %s (%s, source %s)", item.path, item.origin, item.source)
            stats = load_conversations(
                connection,
                read_conversations(item.path, item.source, item.id_prefix),
                source_file=str(item.path),
            )
            context.log.info(
                "%s: read %d, loaded %d, already loaded %d, quarantined %d",
                item.path.name,
                stats.read,
                stats.loaded,
                stats.already_loaded,
                stats.quarantined,
            )
            check_loaded(stats)
            per_file[item.path.name] = {
                "origin": item.origin,
                "read": stats.read,
                "loaded": stats.loaded,
                "already_loaded": stats.already_loaded,
                "quarantined": stats.quarantined,
            }
        counts = {
            table: connection.execute(f"select count(*) from raw.{table}").fetchone()[0]
            for table in ("conversations", "messages", "quarantine")
        }

    loaded = sum(int(stats["loaded"]) for stats in per_file.values())
    quarantined = sum(int(stats["quarantined"]) for stats in per_file.values())
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["raw", "conversations"]),
        metadata={
            "dagster/row_count": counts["conversations"],
            "loaded_this_run": loaded,
            "files": dg.MetadataValue.json(per_file),
        },
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["raw", "messages"]),
        metadata={"dagster/row_count": counts["messages"]},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["raw", "quarantine"]),
        metadata={"dagster/row_count": counts["quarantine"], "quarantined_this_run": quarantined},
    )
