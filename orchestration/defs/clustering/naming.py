"""Cluster names and descriptions, contrasting a cluster's summaries with its neighbours'."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from orchestration.defs.clustering.privacy import starts_sentence, word_set

# Words of how people ask rather than what they ask about.
REQUEST_FILLER = word_set(
    """
    help want need like know make please thanks thank hi hello hey can could would just use
    using used get give tell good best way ways thing things really going does did don doesn
    isn ll ve im yes okay ok think sure right let lot want wanted trying try able question
    questions answer know kind sort maybe actually also something anything
    """
)
_TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"
FALLBACK_NAME = "Mixed requests without a shared term"
FALLBACK_DESCRIPTION = "No term appears in enough of the sampled requests to name this group."


@dataclass(frozen=True)
class ClusterLabel:
    """A cluster's short name and description, or why no label could be made."""

    name: str
    description: str
    # Set when a model namer returned no usable label; the cluster is then withheld.
    failure: str | None = None


@dataclass(frozen=True)
class NamingRequest:
    """The samples one cluster is named from, and the conversations they came from.

    `owners` contains the (source, conversation_id) keys of the summaries in the samples,
    empty above the base level where the samples are child-cluster names.
    """

    level: int
    inside: Sequence[str]
    outside: Sequence[str]
    owners: Sequence[tuple[str, str]] = ()


class Namer(Protocol):
    """Names a cluster from samples of its own summaries and of the nearest ones outside it.

    `inside` contains summaries sampled from the cluster. `outside` contains the summaries
    (above the base level, the child-cluster names) closest to the cluster but not in it,
    so that the name states what sets the cluster apart.
    """

    name: str
    # Summaries sampled per cluster: Clio shows a model 50 inside and 50 outside.
    sample_size: int

    def label(self, inside: Sequence[str], outside: Sequence[str]) -> ClusterLabel: ...


def _join_terms(terms: Sequence[str]) -> str:
    if len(terms) == 1:
        return terms[0]
    return ", ".join(terms[:-1]) + " and " + terms[-1]


def _capitalise_first(text: str) -> str:
    return text[:1].upper() + text[1:]


class OfflineNamer:
    """Names clusters by class-based TF-IDF: terms frequent inside and rarer outside.

    A term's score is (share of inside texts containing it minus share of outside texts
    containing it) times its inverse document frequency over the background texts. Only
    terms found in at least `min_term_documents` inside texts can appear in a name, so a
    word used by a single conversation never names a cluster.
    """

    name = "offline"
    # A term counts once per sampled account, so a larger sample names more clusters.
    sample_size = 500

    def __init__(
        self,
        background: Sequence[str],
        *,
        min_term_documents: int = 5,
        terms_per_name: int = 3,
    ):
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

        self.min_term_documents = min_term_documents
        self.terms_per_name = terms_per_name
        self._vectorizer = CountVectorizer(
            binary=True,
            # Single words: a bigram of the words left after stop-word removal ("address
            # ceo") reads worse than the words on their own.
            token_pattern=_TOKEN_PATTERN,
            stop_words=sorted(ENGLISH_STOP_WORDS | REQUEST_FILLER),
            dtype=np.float32,
        )
        try:
            counts = self._vectorizer.fit_transform(background)
        except ValueError:
            self._vectorizer = None
            return
        document_frequency = np.asarray(counts.sum(axis=0)).ravel()
        self._idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1
        self._terms = self._vectorizer.get_feature_names_out()

    def _shares(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if not texts:
            zeros = np.zeros(len(self._terms), dtype=np.float64)
            return zeros, zeros
        counts = np.asarray(self._vectorizer.transform(texts).sum(axis=0)).ravel()
        return counts / len(texts), counts

    def _pick_terms(self, scores: np.ndarray, eligible: np.ndarray) -> list[str]:
        chosen: list[str] = []
        words_used: set[str] = set()
        for index in np.argsort(-scores, kind="stable"):
            if scores[index] <= 0:
                break
            if not eligible[index]:
                continue
            term = str(self._terms[index])
            words = set(term.split())
            if words & words_used:
                continue
            chosen.append(term)
            words_used |= words
            if len(chosen) == self.terms_per_name:
                break
        return chosen

    def label(self, inside: Sequence[str], outside: Sequence[str]) -> ClusterLabel:
        if self._vectorizer is None or not inside:
            return ClusterLabel(FALLBACK_NAME, FALLBACK_DESCRIPTION)
        inside_share, inside_counts = self._shares(inside)
        outside_share, outside_counts = self._shares(outside)
        scores = (inside_share - outside_share) * self._idf
        own = self._pick_terms(scores, inside_counts >= self.min_term_documents)
        if not own:
            return ClusterLabel(FALLBACK_NAME, FALLBACK_DESCRIPTION)
        surface = [_surface_form(term, inside) for term in own]
        name = _capitalise_first(_join_terms(surface))
        neighbours = self._pick_terms(-scores, outside_counts >= self.min_term_documents)[:2]
        if neighbours:
            description = (
                f"Requests that mention {_join_terms(surface)} more often than the nearest "
                f"other topics, which centre on "
                f"{_join_terms([_surface_form(term, outside) for term in neighbours])}."
            )
        else:
            description = f"Requests that mostly mention {_join_terms(surface)}."
        return ClusterLabel(name, description)


def _surface_form(term: str, texts: Sequence[str]) -> str:
    """Return the most common spelling of a lower-cased term in texts (its casing kept).

    A proper noun keeps its capital this way, so the auditor still detects it.
    """
    pattern = re.compile(r"\b" + re.escape(term) + r"\b", re.IGNORECASE)
    forms: Counter[str] = Counter()
    for text in texts:
        for match in pattern.finditer(text):
            form = re.sub(r"\s+", " ", match.group())
            # A capital at the start of a sentence tells nothing about the word.
            if starts_sentence(text, match.start()):
                form = form[:1].lower() + form[1:]
            forms[form] += 1
    if not forms:
        return term
    # Ties go to the lower-case form, the ordinary spelling of a common word.
    return max(forms.items(), key=lambda item: (item[1], item[0].islower()))[0]


def build_namer(name: str, background: Sequence[str], *, min_term_documents: int) -> Namer:
    """Return the namer called name, fitted on the background texts of one level."""
    if name == "offline":
        return OfflineNamer(background, min_term_documents=min_term_documents)
    raise ValueError(f"unknown cluster namer {name!r}; use 'offline'")
