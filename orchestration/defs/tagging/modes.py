"""Rules that read the interaction mode from the turn structure of a conversation.

The modes are the Economic Index's: directive and feedback_loop count as automation;
task_iteration, learning and validation as augmentation; none when there is no task.
"""

from __future__ import annotations

import re

_GREETING = re.compile(
    r"^\s*(hi|hello|hey|yo|thanks|thank you|good (morning|evening|night)|bye)\b[\s!.?]*$",
    re.IGNORECASE,
)
_ABOUT_ASSISTANT = re.compile(
    r"\b(who|what) are you\b|\bare you (an? )?(ai|bot|human|real|sentient|conscious)\b"
    r"|\byour name\b|\bwho (made|created|built) you\b",
    re.IGNORECASE,
)
_VALIDATION = re.compile(
    r"\b(check|proofread|review|verify|grade|correct) (my|this|the following|it)\b"
    r"|\bis (this|it|my \w+) (correct|right|accurate|ok|okay|good)\b"
    r"|\bany (mistakes|errors)\b|\bdid i (get|do) (it|this|that) right\b|\bam i right\b",
    re.IGNORECASE,
)
_ENVIRONMENT_FEEDBACK = re.compile(
    r"traceback \(most recent call last\)|\b\w*(error|exception):|\bstack trace\b"
    r"|\b(still|now) (get|getting|shows?|throws?)\b|\b(doesn't|does not|didn't|won't) (work|compile|run)\b"
    r"|\bnot working\b|\bit (says|returns|outputs)\b",
    re.IGNORECASE,
)
_REVISION = re.compile(
    r"\b(make it|rewrite|revise|rephrase|shorten|shorter|longer|more (formal|casual|concise|detailed)"
    r"|change (it|the|this)|instead|try again|another version|add (a|an|more|some)|remove|"
    r"less \w+|redo|edit (it|this)|can you (also|now))\b",
    re.IGNORECASE,
)
_DIRECTIVE_START = re.compile(
    r"^\s*(please\s+)?(write|create|generate|make|give|list|translate|summari[sz]e|draft|compose"
    r"|code|implement|build|design|plan|suggest|recommend|provide|calculate|compute|convert"
    r"|rewrite|paraphrase|outline|prepare|produce|name|come up with|fix|complete|continue"
    r"|help me (write|create|make|draft|plan|build|come up))\b",
    re.IGNORECASE,
)
_DIRECTIVE_REQUEST = re.compile(
    r"\b(can|could|would|will) you (please )?(write|create|generate|make|give|list|translate"
    r"|summari[sz]e|draft|compose|code|implement|build|design|plan|suggest|recommend|provide"
    r"|calculate|convert|rewrite|paraphrase|outline|come up with)\b"
    r"|\bi (need|want) (you to|a|an)\b",
    re.IGNORECASE,
)


def classify_mode(user_turns: tuple[str, ...]) -> str:
    """Return the interaction mode a conversation shows, from its user turns alone."""
    turns = [turn.strip() for turn in user_turns if turn.strip()]
    if not turns:
        return "none"
    first = turns[0]
    later = turns[1:]
    if len(turns) == 1 and (_GREETING.match(first) or _ABOUT_ASSISTANT.search(first)):
        return "none"
    if all(_GREETING.match(turn) or _ABOUT_ASSISTANT.search(turn) for turn in turns):
        return "none"
    if _VALIDATION.search(first):
        return "validation"
    if later and sum(bool(_ENVIRONMENT_FEEDBACK.search(turn)) for turn in later) >= 1:
        return "feedback_loop"
    is_directive = bool(_DIRECTIVE_START.search(first) or _DIRECTIVE_REQUEST.search(first))
    if is_directive and later and sum(bool(_REVISION.search(turn)) for turn in later) >= 1:
        return "task_iteration"
    if is_directive:
        return "directive"
    return "learning"


_EXPLANATION = re.compile(
    r"\b(explain|why|how (does|do|did|is|are|can|would|should)|what (is|are|does|do|causes)"
    r"|tell me (about|more)|difference between|what's the|is it (true|possible|safe|normal))\b",
    re.IGNORECASE,
)
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(ok(ay)?|thanks?|thank you|great|cool|perfect|got it|nice|yes|no)\b[\s\w!.,]{0,30}$",
    re.IGNORECASE,
)
# A user turn longer than this is taken as pasted material (homework, a document, code).
PASTE_CHARS = 400
# Names of the columns `turn_features` returns, in order.
TURN_FEATURES = (
    "user_turns",
    "directive_share",
    "explanation_share",
    "question_share",
    "feedback_share",
    "revision_share",
    "validation",
    "paste_share",
    "acknowledgement_share",
)


def turn_features(user_turns: tuple[str, ...]) -> list[float]:
    """Describe the turn structure of a conversation as numbers between 0 and 1.

    Shares are over the user turns, except feedback and revision, which count only the
    turns after the first because errors and change requests respond to earlier output.
    """
    turns = [turn.strip() for turn in user_turns if turn.strip()]
    if not turns:
        return [0.0] * len(TURN_FEATURES)
    later = turns[1:]

    def share(pattern: re.Pattern[str], items: list[str], *, start_only: bool = False) -> float:
        if not items:
            return 0.0
        found = [
            bool(pattern.match(item) if start_only else pattern.search(item)) for item in items
        ]
        return sum(found) / len(items)

    directive = [
        bool(_DIRECTIVE_START.search(turn) or _DIRECTIVE_REQUEST.search(turn)) for turn in turns
    ]
    return [
        min(len(turns), 10) / 10,
        sum(directive) / len(turns),
        share(_EXPLANATION, [turn[:300] for turn in turns]),
        sum(turn.rstrip().endswith("?") for turn in turns) / len(turns),
        share(_ENVIRONMENT_FEEDBACK, later),
        share(_REVISION, later),
        float(any(_VALIDATION.search(turn) for turn in turns)),
        sum(len(turn) > PASTE_CHARS for turn in turns) / len(turns),
        share(_ACKNOWLEDGEMENT, turns, start_only=True),
    ]
