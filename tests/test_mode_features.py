"""Turn-structure features that separate handing a task over from learning about it."""

from __future__ import annotations

import pytest

from orchestration.defs.tagging.modes import TURN_FEATURES, classify_mode, turn_features


def _features(*turns: str) -> dict[str, float]:
    return dict(zip(TURN_FEATURES, turn_features(turns), strict=True))


def test_features_named_and_bounded() -> None:
    values = turn_features(
        (
            "What's a good brand of rain jacket for cycling? Any suggestions?",
            "Actually, I need it to pack small.",
            "How much is 15% off 120?",
        )
    )
    assert len(values) == len(TURN_FEATURES)
    assert all(0.0 <= value <= 1.0 for value in values)


@pytest.mark.parametrize(
    "text",
    [
        "What's a good brand of hiking socks?",
        "Can you recommend a laptop for video editing?",
        "Which printer should I buy for a small office?",
        "Any suggestions for a quiet dishwasher?",
    ],
)
def test_features_recommendation_requests(text: str) -> None:
    assert _features(text)["recommendation_share"] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "What is 12% of 450?",
        "Solve 3x + 4 = 19",
        "2y − 6 = 10, what is y?",
        "How much is 40 times 12?",
        "What's the square root of 196?",
    ],
)
def test_features_computation_requests(text: str) -> None:
    assert _features(text)["computation_share"] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Is this drug safe for people aged 18-30?",
        "What happened in the war of 1914-1918?",
        "How do vaccines train the immune system?",
    ],
)
def test_features_ranges_not_computations(text: str) -> None:
    assert _features(text)["computation_share"] == 0.0


def test_features_information_command_not_directive() -> None:
    features = _features("Give me some information about the history of the printing press.")
    assert features["information_share"] == 1.0
    assert features["directive_share"] == 0.0
    assert _features("Give me a recipe for pancakes.")["directive_share"] == 1.0


def test_features_advice_and_artefact() -> None:
    assert _features("How should I ask my manager for a raise?")["advice_share"] == 1.0
    assert _features("How should I ask my manager for a raise?")["artefact_share"] == 0.0
    assert (
        _features("Can you give me a short poem for my sister's wedding?")["artefact_share"] == 1.0
    )


def test_features_follow_up_questions() -> None:
    features = _features(
        "What is a mortgage?",
        "how is the rate fixed",
        "Thanks.",
        "What happens if I miss a payment?",
    )
    assert features["follow_up_question_share"] == pytest.approx(2 / 3)
    assert _features("What is a mortgage?")["follow_up_question_share"] == 0.0


@pytest.mark.parametrize(
    "correction",
    [
        "No, it should sound friendlier.",
        "Actually, make the hero a teacher.",
        "Write the same email but for the night shift.",
        "Give me the list again with prices.",
        "It's too long.",
    ],
)
def test_features_corrections_are_revisions(correction: str) -> None:
    turns = ("Write an email inviting staff to the summer party.", correction)
    assert _features(*turns)["revision_share"] == 1.0
    assert classify_mode(turns) == "task_iteration"


def test_features_new_request_not_revision() -> None:
    turns = ("Write a haiku about snow.", "Now write a limerick about a frog.")
    assert _features(*turns)["revision_share"] == 0.0
