"""Shared fixtures: a clean environment, a parsed dbt project, and data mirrors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration import settings
from tests.fixtures.mirror import write_fixture_mirror

PROJECT_VARIABLES = (
    settings.ENV_DATA_DIR,
    settings.ENV_WAREHOUSE_PATH,
    settings.ENV_DATA_MIRROR,
    settings.ENV_ONET_RELEASE,
    settings.ENV_CONVERSATION_INBOX,
    settings.ENV_TAGGING_ENCODER,
    settings.ENV_TAGGING_USAGE_PRIOR,
    settings.ENV_TAGGING_CASCADE_SHARE,
    "ANTHROPIC_API_KEY",
    settings.ENV_TAGGING_BACKEND,
    settings.ENV_REPLAY_DIR,
)
# Read once, before the autouse fixture clears the environment of every test.
REAL_MIRROR_SETTING = os.environ.get(settings.ENV_DATA_MIRROR)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's shell from changing results: tests set what they need."""
    for name in PROJECT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Parse the dbt project once, since dagster-dbt reads its manifest on import."""
    from orchestration.dbt_manifest import parse_dbt_project

    parse_dbt_project()
    return settings.PROJECT_ROOT / "target" / "manifest.json"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder and warehouse of the test's own, set the way `make run` sets them."""
    data = tmp_path / "data"
    monkeypatch.setenv(settings.ENV_DATA_DIR, str(data))
    monkeypatch.setenv(settings.ENV_WAREHOUSE_PATH, str(data / "warehouse.duckdb"))
    return data


@pytest.fixture
def fixture_mirror(tmp_path: Path) -> Path:
    """A small mirror laid out like the publishers' files, written by the test suite."""
    return write_fixture_mirror(tmp_path / "mirror")


@pytest.fixture(scope="session")
def real_mirror() -> Path:
    """The published data: DATA_MIRROR, or the shared folder beside the clone."""
    candidates = [Path(REAL_MIRROR_SETTING)] if REAL_MIRROR_SETTING else []
    candidates.append(settings.PROJECT_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "aei_2025_02" / "onet_task_mappings.csv").exists():
            return candidate.resolve()
    pytest.skip(
        "published data not found: set DATA_MIRROR to a mirror of the publishers' files "
        "(this machine has no internet to download them)"
    )
