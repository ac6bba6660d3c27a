"""Conversation ingestion: public samples and the user's inbox into raw tables."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.defs.conversations.forget import account_hash, forget_account
from orchestration.defs.conversations.ledger import (
    ensure_ledger,
    forgotten_accounts,
    ingestion_day,
    record_ingestion,
)
from orchestration.defs.conversations.load import (
    LoadOptions,
    LoadStats,
    ensure_tables,
    load_conversations,
    purge_originals,
)
from orchestration.defs.conversations.parse import read_conversations
from orchestration.defs.conversations.resource import Ingestion
from orchestration.defs.reference.catalog import sample_conversation_files
from orchestration.defs.reference.fetch import sha256_of
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse
from orchestration.jobs import refresh_everything

GROUP = "conversations"
INBOX_PATTERNS = ("*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz", "*.zip")
# One partition per ingestion day; today's partition exists before the day ends.
INGESTION_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
CONVERSATION_KEYS = [
    dg.AssetKey(["raw", name]) for name in ("conversations", "messages", "quarantine")
]


class ConversationRunConfig(dg.Config):
    """Run settings of the conversation tables."""

    # An account id, or its stored `acct_` hash, to forget instead of loading: the run
    # deletes the account's conversations and everything derived from them.
    forget_account: str | None = None


@dataclass(frozen=True)
class InputFile:
    """A file to ingest, with the names its conversations get."""

    path: Path
    source: str
    id_prefix: str
    origin: str
    # Known when the file was fetched (which hashes it already); computed on use otherwise.
    sha256: str | None = None


class EmptyInputError(ValueError):
    """A file held records but not one of them became a conversation."""


def today_partition() -> str:
    """Return today's ingestion partition key (UTC)."""
    return datetime.now(UTC).date().isoformat()


def inbox_files(inbox: Path) -> list[InputFile]:
    """List the inbox's export files; the source is `inbox`, ids are prefixed by file stem."""
    paths = sorted({path for pattern in INBOX_PATTERNS for path in inbox.rglob(pattern)})
    return [
        InputFile(path, source="inbox", id_prefix=_stem(path.relative_to(inbox)), origin="inbox")
        for path in paths
        if path.is_file()
    ]


def _stem(path: Path) -> str:
    name = path.as_posix()
    for suffix in (".gz", ".zip", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name


def inbox_fingerprints(inbox: Path) -> dict[str, str]:
    """Return modification time and size per inbox file, to notice new or changed files."""
    fingerprints = {}
    for item in inbox_files(inbox):
        status = item.path.stat()
        fingerprints[item.id_prefix] = f"{status.st_mtime_ns}:{status.st_size}"
    return fingerprints


def check_loaded(stats: LoadStats) -> None:
    """Raise when a file yielded no conversation at all, which usually means a wrong format."""
    usable = stats.loaded + stats.updated + stats.already_loaded + stats.forgotten
    if stats.read > 0 and usable == 0:
        raise EmptyInputError(
            f"{stats.source_file}: {stats.read} records read but none is a conversation "
            f"({stats.quarantined} quarantined); see raw.quarantine for the reasons"
        )


def _input_files(reference: ReferenceData, ingestion: Ingestion) -> list[InputFile]:
    inputs: list[InputFile] = []
    if ingestion.load_public_samples:
        has_mirror = reference.resolved_mirror() is not None
        for sample in sample_conversation_files(has_mirror):
            fetched = reference.fetch(sample.remote)
            inputs.append(
                InputFile(
                    fetched.path, sample.source, sample.id_prefix, fetched.origin, fetched.sha256
                )
            )
    if ingestion.load_format_samples:
        format_samples = inbox_files(settings.FORMAT_SAMPLES_DIR)
        inputs += [
            InputFile(item.path, "format_samples", item.id_prefix, "repository")
            for item in format_samples
        ]
    inbox = ingestion.resolved_inbox()
    if inbox is not None:
        if not inbox.is_dir():
            raise FileNotFoundError(
                f"conversation inbox {inbox} is not a directory; create it or unset "
                f"{settings.ENV_CONVERSATION_INBOX}"
            )
        inputs += inbox_files(inbox)
    return inputs


def _stats_metadata(stats: LoadStats, origin: str, ingested_on: date) -> dict[str, object]:
    return {
        "origin": origin,
        "ingested_on": ingested_on.isoformat(),
        "read": stats.read,
        "loaded": stats.loaded,
        "updated": stats.updated,
        "already_loaded": stats.already_loaded,
        "quarantined": stats.quarantined,
        "forgotten": stats.forgotten,
    }


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CONVERSATION_KEYS[0],
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per conversation, keyed by (source, id), with hashed accounts.",
        ),
        dg.AssetSpec(
            CONVERSATION_KEYS[1],
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per scrubbed message of a loaded conversation.",
        ),
        dg.AssetSpec(
            CONVERSATION_KEYS[2],
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per record set aside, with file, line and reason.",
        ),
    ],
    partitions_def=INGESTION_PARTITIONS,
    pool=WAREHOUSE_POOL,
)
def conversation_tables(
    context: dg.AssetExecutionContext,
    config: ConversationRunConfig,
    reference: ReferenceData,
    ingestion: Ingestion,
    warehouse: Warehouse,
):
    """Load the day's new or changed exports. A file keeps the day it was first ingested.

    Rerunning a past day's partition reads that day's files again, and a newer export of a
    conversation replaces the old one. Files ingested on other days are left alone.
    """
    ingested_on = date.fromisoformat(context.partition_key)
    if config.forget_account:
        yield from _forget(context, ingestion, warehouse, config.forget_account)
        return

    inputs = _input_files(reference, ingestion)
    keep_originals = ingestion.resolved_keep_original_text()
    per_file: dict[str, dict[str, object]] = {}
    skipped: list[str] = []
    with warehouse.connect() as connection:
        ensure_tables(connection)
        ensure_ledger(connection)
        quarantine_before = _table_counts(connection)["quarantine"]
        options = LoadOptions(
            account_key=ingestion.account_key(),
            ingested_on=ingested_on,
            keep_originals=keep_originals,
            forgotten_accounts=forgotten_accounts(connection),
        )
        for item in inputs:
            digest = item.sha256 or sha256_of(item.path)
            first_day = ingestion_day(connection, str(item.path), digest)
            if first_day is not None and first_day != ingested_on:
                skipped.append(item.path.name)
                continue
            context.log.info("reading %s (%s, source %s)", item.path, item.origin, item.source)
            stats = load_conversations(
                connection,
                read_conversations(
                    item.path, item.source, item.id_prefix, keep_originals=keep_originals
                ),
                source_file=str(item.path),
                options=options,
            )
            context.log.info(
                "%s: read %d, loaded %d, updated %d, already loaded %d, quarantined %d, "
                "forgotten %d",
                item.path.name,
                stats.read,
                stats.loaded,
                stats.updated,
                stats.already_loaded,
                stats.quarantined,
                stats.forgotten,
            )
            check_loaded(stats)
            record_ingestion(
                connection,
                sha256=digest,
                size_bytes=item.path.stat().st_size,
                source=item.source,
                ingested_on=ingested_on,
                stats=stats,
            )
            per_file[item.path.name] = _stats_metadata(stats, item.origin, ingested_on)
        purged = purge_originals(connection, ingestion.resolved_retention_days())
        counts = _table_counts(connection)

    if skipped:
        context.log.info("%d files unchanged since an earlier day, not read again", len(skipped))
    yield from _results(
        per_file,
        counts,
        new_quarantine_rows=counts["quarantine"] - quarantine_before,
        skipped=len(skipped),
        originals_purged=purged,
    )


def _table_counts(connection) -> dict[str, int]:
    return {
        table: connection.execute(f"select count(*) from raw.{table}").fetchone()[0]
        for table in ("conversations", "messages", "quarantine")
    }


def _results(
    per_file: dict[str, dict[str, object]],
    counts: dict[str, int],
    new_quarantine_rows: int = 0,
    **extra: object,
):
    loaded = sum(int(stats["loaded"]) for stats in per_file.values())
    updated = sum(int(stats["updated"]) for stats in per_file.values())
    yield dg.MaterializeResult(
        asset_key=CONVERSATION_KEYS[0],
        metadata={
            "dagster/row_count": counts["conversations"],
            "loaded_this_run": loaded,
            "updated_this_run": updated,
            "files": dg.MetadataValue.json(per_file),
            **{name: value for name, value in extra.items()},
        },
    )
    yield dg.MaterializeResult(
        asset_key=CONVERSATION_KEYS[1],
        metadata={"dagster/row_count": counts["messages"]},
    )
    yield dg.MaterializeResult(
        asset_key=CONVERSATION_KEYS[2],
        metadata={
            "dagster/row_count": counts["quarantine"],
            "quarantined_this_run": new_quarantine_rows,
        },
    )


def _forget(
    context: dg.AssetExecutionContext,
    ingestion: Ingestion,
    warehouse: Warehouse,
    account: str,
):
    hashed = account_hash(account, ingestion.account_key())
    with warehouse.connect() as connection:
        deleted = forget_account(connection, hashed)
        counts = _table_counts(connection)
    context.log.info("forgot account %s", hashed)
    yield from _results(
        {},
        counts,
        forgotten_account=hashed,
        rows_deleted=dg.MetadataValue.json(deleted),
    )


@dg.sensor(
    job=refresh_everything,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def conversation_inbox_sensor(context: dg.SensorEvaluationContext, ingestion: Ingestion):
    """Start a refresh for today's partition when files in the inbox are new or changed."""
    inbox = ingestion.resolved_inbox()
    if inbox is None:
        return dg.SkipReason(f"no inbox: set {settings.ENV_CONVERSATION_INBOX} to watch one")
    if not inbox.is_dir():
        return dg.SkipReason(f"inbox {inbox} is not a directory")
    previous = json.loads(context.cursor) if context.cursor else {}
    current = inbox_fingerprints(inbox)
    changed = sorted(
        name for name, fingerprint in current.items() if previous.get(name) != fingerprint
    )
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return dg.SkipReason("no new or changed files in the inbox")
    run_key = hashlib.sha256(
        json.dumps({name: current[name] for name in changed}, sort_keys=True).encode()
    ).hexdigest()[:16]
    context.log.info("%d new or changed inbox files: %s", len(changed), ", ".join(changed[:5]))
    return dg.RunRequest(run_key=f"inbox-{run_key}", partition_key=today_partition())
