"""`make eval`: reading labels, scoring a tagger, and the figures file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration import settings
from orchestration.evaluate import (
    Prediction,
    main,
    majority_baseline,
    offline_predictions,
    read_labels,
    score,
)

STATEMENTS = [
    (1, "Write, update, and maintain computer programs.", "Computer Programmers", "15-1131.00"),
    (2, "Plan menus and recipes for banquets.", "Chefs and Head Cooks", "35-1011.00"),
]


def _record(text: str, task_id: int | None, code: str | None, mode: str, side: str) -> dict:
    return {
        "turns": [{"role": "user", "text": text}, {"role": "assistant", "text": "Sure."}],
        "labels": {
            "onet_task_id": task_id,
            "onet_soc_code": code,
            "soc_major_group": code[:2] if code else None,
            "interaction_mode": mode,
            "collaboration": side,
            "confidence": "high",
        },
    }


RECORDS = [
    _record("Write a program to track inventory", 1, "15-1131.00", "directive", "automation"),
    _record("Plan a banquet menu with recipes", 2, "35-1011.00", "directive", "automation"),
    _record("Why is the sky blue?", None, None, "learning", "augmentation"),
]


def test_perfect_predictions_score_one() -> None:
    predictions = [
        Prediction(1, "15-1131.00", "15", "directive", True),
        Prediction(2, "35-1011.00", "35", "directive", True),
        Prediction(None, None, None, "learning", False),
    ]
    result = score(RECORDS, predictions)
    assert result["soc_major_group_accuracy"] == 1.0
    assert result["task_accuracy"] == 1.0
    assert result["collaboration_accuracy"] == 1.0
    assert result["automation_recall"] == 1.0
    assert result["high_medium_confidence"]["count"] == 3


def test_null_group_matches_null_label() -> None:
    predictions = [Prediction(None, None, None, "learning", False)] * 3
    result = score(RECORDS, predictions)
    assert result["soc_major_group_accuracy"] == pytest.approx(1 / 3)
    assert result["occupational_accuracy"] == pytest.approx(1 / 3)


def test_offline_backend_scores_fixture() -> None:
    result = score(RECORDS, offline_predictions(RECORDS, STATEMENTS))
    assert result["soc_major_group_accuracy"] == 1.0
    assert result["interaction_mode_accuracy"] == 1.0


def test_majority_baseline_answers_most_common() -> None:
    [first, *_] = majority_baseline(RECORDS)
    assert first.interaction_mode == "directive"
    assert first.is_occupational


def test_malformed_label_names_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(RECORDS[0]) + "\n{broken\n")
    with pytest.raises(ValueError, match="labels.jsonl:2"):
        read_labels(path)


@pytest.mark.mirror
def test_eval_writes_figures_file(
    real_mirror: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv(settings.ENV_DATA_MIRROR, str(real_mirror))
    labels = workspace.parent / "labels.jsonl"
    labels.write_text("".join(json.dumps(record) + "\n" for record in RECORDS))

    # The TF-IDF encoder keeps this test from embedding all 18,428 statements.
    assert main(["--labels", str(labels), "--encoder", "tfidf"]) == 0

    output = Path(capsys.readouterr().out.strip().splitlines()[-1])
    figures = json.loads(output.read_text())
    for key in ("soc_major_group_accuracy", "interaction_mode_accuracy", "collaboration_accuracy"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert set(figures["baselines"]) == {"tfidf_baseline", "majority_baseline"}
