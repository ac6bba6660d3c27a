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
