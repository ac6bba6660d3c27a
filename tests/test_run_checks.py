"""`make run`'s checks before any work, and its summary of mart rows."""

from __future__ import annotations

import duckdb
import pytest

from orchestration import evaluate, settings
from orchestration.marts import MART_NAMES


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (settings.ENV_TAGGING_ENCODER, "bogus", "TAGGING_ENCODER='bogus' is not an encoder"),
        (settings.ENV_TAGGING_CASCADE_SHARE, "2", "TAGGING_CASCADE_SHARE='2' must be a number"),
        (settings.ENV_TAGGING_USAGE_PRIOR, "maybe", "TAGGING_USAGE_PRIOR='maybe' must be"),
    ],
)
def test_bad_setting_stops_run_early(
    dbt_manifest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    variable,
    value,
    message,
) -> None:
    # orchestration.run loads the Dagster definitions, which read the dbt manifest.
    from orchestration import run

    monkeypatch.setenv(variable, value)
    assert message in settings.offline_tagging_problem()
    assert run.main() == 2
    assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        evaluate.main([])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_backend_stops_run_early(
    dbt_manifest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from orchestration import run

    monkeypatch.setenv(settings.ENV_TAGGING_BACKEND, "bogus")
    assert run.main() == 2
    error = capsys.readouterr().err
    assert "TAGGING_BACKEND='bogus' is not a tagging backend" in error
    assert "offline, claude, replay, hybrid" in error


def test_valid_offline_settings_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_TAGGING_ENCODER, "Cascade")
    monkeypatch.setenv(settings.ENV_TAGGING_CASCADE_SHARE, "0.25")
    monkeypatch.setenv(settings.ENV_TAGGING_USAGE_PRIOR, "no")
    assert settings.offline_tagging_problem() is None


def test_empty_mart_listed_with_zero(dbt_manifest) -> None:
    from orchestration import run

    connection = duckdb.connect()
    connection.execute("create schema marts")
    for mart in MART_NAMES:
        connection.execute(f"create table marts.{mart} (usage_source varchar)")
    connection.execute(f"insert into marts.{MART_NAMES[0]} values ('pipeline'), ('pipeline')")
    counts = run.mart_row_counts(connection)
    assert counts[0] == (MART_NAMES[0], "pipeline", 2)
    assert counts[1:] == [(mart, "(empty)", 0) for mart in MART_NAMES[1:]]
