"""Conversation ingestion through Dagster: the inbox and files that yield nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.defs.conversations.assets import EmptyInputError, check_loaded, inbox_files
from orchestration.defs.conversations.load import LoadStats
from tests.graph import materialization_metadata, materialize_all, query


def test_inbox_lists_jsonl_files_by_stem(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "export.jsonl").write_text("")
    (tmp_path / "old.jsonl.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    files = inbox_files(tmp_path)
    assert [item.id_prefix for item in files] == ["old", "team/export"]
    assert {item.source for item in files} == {"inbox"}


def test_file_without_conversations_is_an_error() -> None:
    stats = LoadStats("bad.jsonl", read=3, loaded=0, already_loaded=0, quarantined=3)
    with pytest.raises(EmptyInputError, match="bad.jsonl: 3 records read"):
        check_loaded(stats)


def test_empty_file_is_not_an_error() -> None:
    check_loaded(LoadStats("empty.jsonl", read=0, loaded=0, already_loaded=0, quarantined=0))


def test_inbox_bad_lines_are_quarantined(
    fixture_mirror: Path, workspace: Path, tmp_path: Path, dbt_manifest: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = {"id": "a", "messages": [{"role": "user", "content": "Write a poem"}]}
    (inbox / "mine.jsonl").write_text(json.dumps(good) + "\n{not json\n")

    result = materialize_all(fixture_mirror, load_public_samples=False, inbox=inbox)

    files = materialization_metadata(result, ["raw", "conversations"])["files"]
    quarantine = query(
        workspace / "warehouse.duckdb", "select record_index, reason from raw.quarantine"
    )
    assert result.success
    assert files["mine.jsonl"]["loaded"] == 1
    assert files["mine.jsonl"]["quarantined"] == 1
    assert quarantine[0][0] == 2
    assert quarantine[0][1].startswith("invalid JSON")
