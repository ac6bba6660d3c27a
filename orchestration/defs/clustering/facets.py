"""Per-conversation facets: a privacy-preserving request summary and the language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.defs.clustering.privacy import strip_identifying_details

# Characters of the first request read before summarising; the summary is cut further.
READ_CHARS = 600
SUMMARY_MAX_CHARS = 200
LANGUAGE_SAMPLE_CHARS = 500
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Facets:
    """One conversation's facets, as stored in raw.conversation_facets."""

    source: str
    conversation_id: str
    summary: str
    language: str | None
    turn_count: int
    # "model" when the tagging backend wrote the summary, "offline" when it was derived here.
    summary_method: str


def offline_summary(first_request: str) -> str:
    """Return the first request cut to two sentences with identifying details removed.

    The input is the scrubbed first user turn. The result is empty when nothing is left.
    """
    text = strip_identifying_details(first_request[:READ_CHARS])
    sentences = [sentence for sentence in _SENTENCE_END.split(text) if sentence]
    summary = " ".join(sentences[:2])
    if len(summary) > SUMMARY_MAX_CHARS:
        cut = summary[:SUMMARY_MAX_CHARS].rsplit(" ", 1)[0]
        summary = cut.rstrip(",;: ") + " …"
    return summary


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of text's language, or None for text without letters."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if not any(character.isalpha() for character in sample):
        return None
    # py3langid ships its model inside the wheel, so nothing is downloaded.
    import py3langid

    language, _score = py3langid.classify(sample)
    return language


def conversation_facets(
    source: str,
    conversation_id: str,
    first_request: str,
    turn_count: int,
    tag_summary: str | None,
    tag_language: str | None,
) -> Facets:
    """Build one conversation's facets, preferring the tagging model's summary and language.

    A model summary is cleaned the same way as an offline one, because the model may still
    have kept a name or a place.
    """
    if tag_summary and tag_summary.strip():
        summary = strip_identifying_details(tag_summary)
        method = "model"
    else:
        summary = offline_summary(first_request)
        method = "offline"
    language = tag_language or detect_language(first_request)
    return Facets(source, conversation_id, summary, language, turn_count, method)
