"""Reference-data resource and loaders: mirrors, checksums, O*NET release, column types."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.defs.reference import catalog
from orchestration.defs.reference.fetch import FetchError
from orchestration.defs.reference.load import TABLE_LOADS, LoadError, load_table
from orchestration.defs.reference.resource import ReferenceData


def test_mirror_checksum_mismatch_names_file(fixture_mirror: Path, tmp_path: Path) -> None:
    reference = ReferenceData(raw_dir=str(tmp_path / "raw"), mirror_dir=str(fixture_mirror))
    with pytest.raises(FetchError, match="onet_task_mappings.csv"):
        reference.fetch(catalog.AEI_TASK_MAPPINGS)


def test_missing_mirror_directory_is_reported(tmp_path: Path) -> None:
    reference = ReferenceData(raw_dir=str(tmp_path / "raw"), mirror_dir=str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="DATA_MIRROR"):
        reference.fetch(catalog.AEI_TASK_MAPPINGS)


def test_mirror_is_read_from_environment(
    fixture_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_DATA_MIRROR, str(fixture_mirror))
    reference = ReferenceData(verify_checksums=False)
    fetched = reference.fetch(catalog.AEI_WAGES)
    assert fetched.origin == "mirror"
    assert fetched.path == fixture_mirror / "aei_2025_02" / "wage_data.csv"


def test_onet_release_defaults_to_the_index_set() -> None:
    assert ReferenceData().resolved_onet_release() == "20.1"


def test_unknown_onet_release_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_ONET_RELEASE, "18.0")
    with pytest.raises(ValueError, match="unknown O\\*NET release '18.0'"):
        ReferenceData().resolved_onet_release()


def test_codes_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "structure.csv"
    path.write_text(
        "Major Group,Minor Group,Broad Occupation,Detailed Occupation,Detailed O*NET-SOC,Title\n"
        "11-0000,,,,,Management Occupations\n"
        ",11-1000,,,,Top Executives\n"
    )
    connection = duckdb.connect()
    rows = load_table(connection, TABLE_LOADS["soc_structure"], path)
    major = connection.execute("select major_group from raw.soc_structure").fetchall()
    assert rows == 2
    assert major == [("11-0000",), (None,)]


def test_onet_text_release_loads_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "Task Statements.txt"
    path.write_text(
        "O*NET-SOC Code\tTitle\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\t"
        "Domain Source\n"
        "15-1252.00\tSoftware Developers\t16363\tModify existing software.\tCore\t25.0\t"
        "08/2023\tIncumbent\n"
    )
    connection = duckdb.connect()
    load_table(
        connection,
        TABLE_LOADS["onet_task_statements"],
        path,
        delimiter="\t",
        extra_columns=("'29.3' as onet_release",),
    )
    row = connection.execute(
        "select onet_soc_code, task_id, task_statement, onet_release from raw.onet_task_statements"
    ).fetchone()
    assert row == ("15-1252.00", 16363, "Modify existing software.", "29.3")


def test_wrong_column_count_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bls.csv"
    path.write_text("title,count,extra\nManagement Occupations,10,1\n")
    with pytest.raises(LoadError, match="bls.csv"):
        load_table(duckdb.connect(), TABLE_LOADS["bls_employment"], path)


def test_truncated_csv_names_file(tmp_path: Path) -> None:
    path = tmp_path / "onet_task_mappings.csv"
    path.write_text('task_name,pct\n"write code,0.5\n')
    with pytest.raises(LoadError, match="onet_task_mappings.csv"):
        load_table(duckdb.connect(), TABLE_LOADS["aei_task_mappings"], path)


def test_without_mirror_samples_download_from_publishers() -> None:
    files = catalog.sample_conversation_files(has_mirror=False)
    assert all(item.remote.url.startswith("https://") for item in files)
    assert {item.source for item in files} == {"hh-rlhf", "oasst1_en_sample"}
