"""Ingestion through Dagster: partitions by day, the inbox sensor, forgetting an account."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import settings
from orchestration.defs.conversations.accounts import account_hash_key, hash_account
from orchestration.defs.conversations.assets import conversation_inbox_sensor
from orchestration.defs.conversations.resource import Ingestion
from orchestration.defs.warehouse.resource import compact_warehouse
from tests.graph import materialization_metadata, materialize_all, query


def _write_inbox(inbox: Path, name: str, account: str, count: int, topic: str) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "id": f"{name}-{index}",
            "account_id": account,
            "messages": [
                {"role": "user", "content": f"{topic} number {index}"},
                {"role": "assistant", "content": "Done."},
            ],
        }
        for index in range(count)
    ]
    path = inbox / f"{name}.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _files(result: dg.ExecuteInProcessResult) -> dict:
    return materialization_metadata(result, ["raw", "conversations"])["files"]


def test_past_day_reloads_only_its_files(
    fixture_mirror: Path, workspace: Path, tmp_path: Path, dbt_manifest: Path
) -> None:
    inbox = tmp_path / "inbox"
    _write_inbox(inbox, "monday", "acct-a", 2, "Write a poem")
    first = materialize_all(
        fixture_mirror, load_public_samples=False, inbox=inbox, partition="2025-03-03"
    )
    _write_inbox(inbox, "tuesday", "acct-b", 2, "Plan a menu")
    second = materialize_all(
        fixture_mirror, load_public_samples=False, inbox=inbox, partition="2025-03-04"
    )
    reload = materialize_all(
        fixture_mirror, load_public_samples=False, inbox=inbox, partition="2025-03-03"
    )

    days = query(
        workspace / "warehouse.duckdb",
        "select ingested_on::varchar, count(*) from raw.conversations group by 1 order by 1",
    )
    assert sorted(_files(first)) == ["monday.jsonl"]
    assert sorted(_files(second)) == ["tuesday.jsonl"]
    assert sorted(_files(reload)) == ["monday.jsonl"]
    assert days == [("2025-03-03", 2), ("2025-03-04", 2)]


def test_forgotten_account_leaves_no_trace(
    fixture_mirror: Path, workspace: Path, tmp_path: Path, dbt_manifest: Path
) -> None:
    inbox = tmp_path / "inbox"
    _write_inbox(inbox, "keep", "acct-keep", 3, "Write a poem")
    _write_inbox(inbox, "gone", "acct-gone", 3, "Plan a menu")
    materialize_all(fixture_mirror, load_public_samples=False, inbox=inbox)
    hashed = hash_account("acct-gone", account_hash_key(key_file=settings.account_key_file()))
    warehouse = workspace / "warehouse.duckdb"
    tagged_before = query(warehouse, "select count(*) from raw.conversation_tags")

    forget = materialize_all(
        fixture_mirror, load_public_samples=False, inbox=inbox, forget_account="acct-gone"
    )
    rerun = materialize_all(fixture_mirror, load_public_samples=False, inbox=inbox)

    metadata = materialization_metadata(forget, ["raw", "conversations"])
    remaining = query(
        warehouse, "select count(*) from raw.conversations where account_id = ?", [hashed]
    )
    gone_ids = "select conversation_id from raw.{} where conversation_id like 'gone-%'"
    assert forget.success
    assert metadata["forgotten_account"] == hashed
    assert tagged_before == [(6,)]
    assert remaining == [(0,)]
    assert query(warehouse, gone_ids.format("messages")) == []
    assert query(warehouse, gone_ids.format("conversation_tags")) == []
    assert query(warehouse, "select account_id from raw.forgotten_accounts") == [(hashed,)]
    assert rerun.success
    assert query(warehouse, gone_ids.format("conversations")) == []


def test_forget_accepts_stored_hash(
    fixture_mirror: Path, workspace: Path, tmp_path: Path, dbt_manifest: Path
) -> None:
    inbox = tmp_path / "inbox"
    _write_inbox(inbox, "gone", "acct-gone", 2, "Plan a menu")
    materialize_all(fixture_mirror, load_public_samples=False, inbox=inbox)
    hashed = hash_account("acct-gone", account_hash_key(key_file=settings.account_key_file()))

    materialize_all(fixture_mirror, load_public_samples=False, inbox=inbox, forget_account=hashed)

    assert query(workspace / "warehouse.duckdb", "select count(*) from raw.conversations") == [(0,)]


def test_sensor_requests_run_for_changed_files(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _write_inbox(inbox, "first", "acct", 1, "hello")
    ingestion = Ingestion(inbox_dir=str(inbox))

    context = dg.build_sensor_context(resources={"ingestion": ingestion})
    first = conversation_inbox_sensor(context)
    unchanged = conversation_inbox_sensor(
        dg.build_sensor_context(cursor=context.cursor, resources={"ingestion": ingestion})
    )
    os.utime(path, ns=(1, 1))
    changed_context = dg.build_sensor_context(
        cursor=context.cursor, resources={"ingestion": ingestion}
    )
    changed = conversation_inbox_sensor(changed_context)

    assert isinstance(first, dg.RunRequest)
    assert isinstance(unchanged, dg.SkipReason)
    assert isinstance(changed, dg.RunRequest)
    assert changed.run_key != first.run_key


def test_sensor_skips_without_inbox() -> None:
    context = dg.build_sensor_context(resources={"ingestion": Ingestion()})
    result = conversation_inbox_sensor(context)
    assert isinstance(result, dg.SkipReason)
    assert "CONVERSATION_INBOX" in result.skip_message


def test_format_samples_all_load(fixture_mirror: Path, workspace: Path, dbt_manifest: Path) -> None:
    result = materialize_all(fixture_mirror, load_public_samples=False, load_format_samples=True)
    files = _files(result)
    sample_files = sorted(path.name for path in settings.FORMAT_SAMPLES_DIR.iterdir())
    assert result.success
    assert sorted(files) == sample_files
    for name, stats in files.items():
        assert stats["loaded"] > 0, name
        assert stats["read"] == stats["loaded"] + stats["quarantined"], name


@pytest.mark.parametrize("value", ["", "  "])
def test_forget_command_rejects_empty_account(value: str) -> None:
    from orchestration.forget_account import main

    with pytest.raises(SystemExit):
        main([value])


def test_compacting_erases_deleted_text_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    secret = "forgotten-conversation-text-" * 20
    connection = duckdb.connect(str(path))
    connection.execute("create schema raw")
    connection.execute("create table raw.messages (source varchar, content varchar)")
    connection.executemany(
        "insert into raw.messages values (?, ?)", [("kept", "kept text"), ("gone", secret)]
    )
    connection.execute("checkpoint")
    connection.execute("delete from raw.messages where source = 'gone'")
    connection.execute("checkpoint")
    connection.close()
    # DuckDB leaves the deleted text in the file; this is what compacting is for.
    assert secret.encode() in path.read_bytes()

    compact_warehouse(path)

    assert secret.encode() not in path.read_bytes()
    assert query(path, "select source, content from raw.messages") == [("kept", "kept text")]


def test_original_text_kept_on_opt_in(
    fixture_mirror: Path, workspace: Path, tmp_path: Path, dbt_manifest: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    record = {"id": "o-1", "messages": [{"role": "user", "content": "mail ada@example.org"}]}
    (inbox / "o.jsonl").write_text(json.dumps(record) + "\n")

    result = materialize_all(
        fixture_mirror, load_public_samples=False, inbox=inbox, keep_original_text=True
    )

    warehouse = workspace / "warehouse.duckdb"
    assert result.success
    assert query(warehouse, "select content from raw.message_originals") == [
        ("mail ada@example.org",)
    ]
    assert query(warehouse, "select content from raw.messages") == [("mail [EMAIL]",)]
