"""Proper-noun removal for summaries and the auditor that every cluster label must pass.

A capitalised word that does not start a sentence counts as a proper noun unless its lower
case form is in COMMON_CAPITALISED_WORDS: days, months, languages, nationalities and
software names. They are capitalised in ordinary writing but identify no person or place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from orchestration.defs.conversations.scrub import PLACEHOLDER_TYPES, scrub_text


def word_set(words: str) -> frozenset[str]:
    """Return the whitespace-separated words of a block of text as a set."""
    return frozenset(words.split())


COMMON_CAPITALISED_WORDS = word_set(
    """
    i ai api apis app apps sql html css json csv xml yaml pdf pdfs ui ux url urls http https
    cpu gpu ram ssd usb os ide cli sdk faq diy ceo cto hr seo kpi kpis roi pr qa
    id ids ok tv dvd gps atm vpn wifi iot ml nlp llm llms gpt chatgpt claude gemini
    python java javascript typescript rust golang kotlin swift scala perl php ruby matlab
    excel word powerpoint outlook windows linux ubuntu macos android ios unix bash
    docker kubernetes git github react angular vue node django flask pandas numpy
    jupyter latex markdown postgres postgresql mysql sqlite mongodb redis spark hadoop
    tensorflow pytorch keras spring dotnet c++ c# r go
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    english french german spanish italian portuguese dutch russian chinese japanese
    korean arabic hindi turkish polish greek swedish norwegian danish finnish czech
    hungarian romanian ukrainian vietnamese thai indonesian malay hebrew persian latin
    american british canadian australian european african asian indian mexican
    christmas easter halloween thanksgiving valentine internet web
    """
)

# Typed placeholders the scrubber writes, such as [EMAIL] or [NAME].
PLACEHOLDER = re.compile(r"\[(?:" + "|".join(PLACEHOLDER_TYPES) + r")\]")
_ANY_BRACKETED_CAPS = re.compile(r"\[[A-Z_]{2,}\]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+")
_DOMAIN = re.compile(r"(?i)\b[a-z0-9-]+\.(?:com|org|net|io|edu|gov|co|uk|de|fr)\b")
# Three or more digits in a row: phone fragments, account numbers, street numbers, years.
_DIGIT_RUN = re.compile(r"\d[\d ,.-]*\d\d|\d{3,}")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_BREAK = re.compile(r"[.!?:;]\s*$|\n\s*$|^\s*$|[\"'“(\[*#>-]\s*$")


def is_common_capitalised(word: str) -> bool:
    return word.casefold().strip("'’") in COMMON_CAPITALISED_WORDS


def starts_sentence(text: str, position: int) -> bool:
    """Return whether position in text is the start of a sentence, line or quotation."""
    return bool(_SENTENCE_BREAK.search(text[max(0, position - 3) : position]))


def proper_noun_spans(text: str) -> list[tuple[int, int]]:
    """Return the spans of capitalised words that neither start a sentence nor are common."""
    spans = []
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or is_common_capitalised(word):
            continue
        if starts_sentence(text, match.start()):
            continue
        spans.append(match.span())
    return spans


def remove_proper_nouns(text: str) -> str:
    """Drop proper nouns from text, keeping the words around them."""
    pieces = []
    last = 0
    for start, end in proper_noun_spans(text):
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def strip_identifying_details(text: str) -> str:
    """Remove placeholders, names, emails, URLs, long numbers and proper nouns from text.

    The text was scrubbed at ingestion already. This second pass runs the same name
    detection again, then drops what a summary must not contain at all, even as a
    placeholder.
    """
    text = scrub_text(text)
    text = PLACEHOLDER.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _DOMAIN.sub(" ", text)
    text = _DIGIT_RUN.sub(" ", text)
    text = remove_proper_nouns(text)
    text = re.sub(r"[ \t]+([,.!?;:])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class AuditResult:
    """Whether a cluster label may be published, and why not when it may not."""

    passed: bool
    reason: str | None = None


class Auditor(Protocol):
    """Decides whether a cluster's name and description may be published."""

    name: str

    def audit(self, name: str, description: str) -> AuditResult: ...


def pattern_violation(name: str, description: str) -> str | None:
    """Return why a label contains a placeholder, e-mail, URL or digit run, else None."""
    for label, text in (("name", name), ("description", description)):
        if _ANY_BRACKETED_CAPS.search(text):
            return f"placeholder in {label}"
        if _EMAIL.search(text):
            return f"email address in {label}"
        if _URL.search(text) or _DOMAIN.search(text):
            return f"URL or domain in {label}"
        if _DIGIT_RUN.search(text):
            return f"run of digits in {label}"
    return None


class OfflineAuditor:
    """Rule-based auditor: no placeholders, proper nouns, emails, URLs or digit runs."""

    name = "offline"

    def audit(self, name: str, description: str) -> AuditResult:
        if not name.strip():
            return AuditResult(False, "empty name")
        violation = pattern_violation(name, description)
        if violation:
            return AuditResult(False, violation)
        for label, text in (("name", name), ("description", description)):
            if proper_noun_spans(text):
                return AuditResult(False, f"proper noun in {label}")
        return AuditResult(True)


def build_auditor(name: str) -> Auditor:
    """Return the offline auditor; the Claude auditor is built by the clustering resource."""
    if name == "offline":
        return OfflineAuditor()
    raise ValueError(f"unknown cluster auditor {name!r}; use 'offline'")
