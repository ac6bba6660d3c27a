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
    r"less \w+|redo|edit (it|this)|can you (also|now)|again"
    r"|the same \w+( \w+)? (but|for)|should (be|have|say|sound)|too (long|short|formal|casual))\b"
    # A turn that opens by correcting the previous response ("no, ...", "actually ...").
    r"|^\s*(no|nope|actually|i mean|not quite|not what i)\b",
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
# Asking for something to be chosen for the user (a product, a name, a place) hands the
# choice over, so it is directive even when phrased as a question.
_RECOMMENDATION = re.compile(
    r"\b(recommend|recommendations?|suggest|suggestions?|ideas? for|good (brand|name|place|book|app"
    r"|gift|one)s?|best \w+( \w+)? (for|to)|which (\w+ )?(should|would) (i|you) (buy|get|use|pick"
    r"|choose|recommend)|what (\w+ )?should i (buy|get|watch|read|cook|make|name|play))\b",
    re.IGNORECASE,
)
# A problem to be worked out: a calculation, an equation or a quantity asked for.
_COMPUTATION = re.compile(
    r"\b(calculate|compute|solve|simplify|evaluate|how (much|many) (is|are|will|would|do)"
    r"|value of|square root|percent(age)? of|\d+\s*% of)\b"
    # An operator between numbers or terms. A plain hyphen counts only with spaces around
    # it, so ranges such as "18-30" do not.
    r"|\d\s*[+*/×÷^=−]\s*[\w(]|\d\s+-\s+[\w(]|\b\d+x\b",
    re.IGNORECASE,
)
# A request worded as a command whose object is knowledge, not a produced text.
_INFORMATION = re.compile(
    r"\b(give|provide|tell|show) (me |us )?(some |more |an? )?(information|info|details|facts"
    r"|background|overview|explanation|history|idea of)\b|\binformation (on|about)\b",
    re.IGNORECASE,
)
# How-to guidance or advice for the user's own situation.
_ADVICE = re.compile(
    r"\b(how (do|can|should|would) i|what should i do|should i|is it (ok|okay|safe|bad|normal) (to|for|if)"
    r"|what can i do|where (do|should|can) i (start|begin))\b",
    re.IGNORECASE,
)
# A produced piece of work named as the object of the request.
_ARTEFACT = re.compile(
    r"\b(an? |the |some |\d+ )(\w+ ){0,2}(story|poem|essay|e-?mail|letter|script|function|program"
    r"|code|list|plan|summary|table|outline|post|posts|article|speech|song|lyrics|report|resume"
    r"|cover letter|recipe|slogan|tagline|caption|description|message|paragraph|template|query"
    r"|prompt|title|names|itinerary|schedule|menu|quiz|translation|bio|ad|advert)\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\s*(what|how|why|when|where|who|which|is|are|was|were|do|does|did|can|could|should|will"
    r"|would)\b",
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
    "recommendation_share",
    "computation_share",
    "information_share",
    "advice_share",
    "artefact_share",
    "follow_up_question_share",
)


def turn_features(user_turns: tuple[str, ...]) -> list[float]:
    """Describe the turn structure of a conversation as numbers between 0 and 1.

    Shares are over the user turns, except feedback, revision and follow-up questions,
    which count only the turns after the first because they respond to earlier output.
    Request patterns read the first 300 characters of a turn, so pasted material after a
    request does not count as one.
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

    heads = [turn[:300] for turn in turns]
    directive = [
        bool(_DIRECTIVE_START.search(turn) or _DIRECTIVE_REQUEST.search(turn))
        and not _INFORMATION.search(turn)
        for turn in heads
    ]
    return [
        min(len(turns), 10) / 10,
        sum(directive) / len(turns),
        share(_EXPLANATION, heads),
        sum(turn.rstrip().endswith("?") for turn in turns) / len(turns),
        share(_ENVIRONMENT_FEEDBACK, later),
        share(_REVISION, later),
        float(any(_VALIDATION.search(turn) for turn in turns)),
        sum(len(turn) > PASTE_CHARS for turn in turns) / len(turns),
        share(_ACKNOWLEDGEMENT, turns, start_only=True),
        share(_RECOMMENDATION, heads),
        share(_COMPUTATION, heads),
        share(_INFORMATION, heads),
        share(_ADVICE, heads),
        share(_ARTEFACT, heads),
        sum(_is_question(turn) for turn in later) / len(later) if later else 0.0,
    ]


def _is_question(turn: str) -> bool:
    return turn.rstrip().endswith("?") or bool(_QUESTION_START.match(turn))
