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
# Profanity and slurs that never appear in an offline name or description, even when they
# are the most distinctive words of a cluster. A term containing one is skipped.
BLOCKED_WORDS = word_set(
    """
    ass arse asshole bastard bitch bitches bollocks cock cocks cunt cunts dick dicks dyke
    fag fags faggot faggots fuck fucked fucker fucking fucks kike nigga niggas nigger
    niggers piss pussy retard retarded shit shits shitty slut sluts spic tits tranny twat
    wank wanker whore whores chink chinks
    """
)
_TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"
# A phrase takes the place of its best word when it occurs in at least this share of the
# inside texts that contain that word.
PHRASE_SHARE = 0.5
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
            # Phrases of up to three words. A phrase of the words left after stop-word
            # removal ("address ceo") can name a cluster only when it also occurs
            # word for word in the inside texts, which `_verbatim` checks.
            ngram_range=(1, 3),
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
        self._term_index = {str(term): index for index, term in enumerate(self._terms)}
        self._is_phrase = np.array([" " in str(term) for term in self._terms], dtype=bool)
        self._blocked = np.array(
            [bool(set(str(term).split()) & BLOCKED_WORDS) for term in self._terms], dtype=bool
        )

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

    def _prefer_phrases(
        self, scores: np.ndarray, counts: np.ndarray, eligible: np.ndarray, texts: Sequence[str]
    ) -> np.ndarray:
        """Lift a phrase above its words when it is nearly as common as its best word.

        Only phrases that occur word for word in texts are lifted, so a name never joins
        words that were apart in every request.
        """
        lifted = np.where(self._is_phrase, -np.inf, scores)
        for index in np.flatnonzero(eligible & self._is_phrase & (scores > 0)):
            words = str(self._terms[index]).split()
            word_indices = [self._term_index[word] for word in words if word in self._term_index]
            if not word_indices:
                continue
            best_word = max(word_indices, key=lambda word_index: scores[word_index])
            if counts[index] < PHRASE_SHARE * counts[best_word]:
                continue
            if not _verbatim(str(self._terms[index]), texts):
                continue
            # Longer phrases win ties, so "cover letter" beats "cover" and "letter".
            lifted[index] = max(scores[index], scores[best_word] * (1 + 0.01 * len(words)))
        return lifted

    def label(self, inside: Sequence[str], outside: Sequence[str]) -> ClusterLabel:
        if self._vectorizer is None or not inside:
            return ClusterLabel(FALLBACK_NAME, FALLBACK_DESCRIPTION)
        inside_share, inside_counts = self._shares(inside)
        outside_share, outside_counts = self._shares(outside)
        scores = (inside_share - outside_share) * self._idf
        eligible = (inside_counts >= self.min_term_documents) & ~self._blocked
        own = self._pick_terms(
            self._prefer_phrases(scores, inside_counts, eligible, inside), eligible
        )
        if not own:
            return ClusterLabel(FALLBACK_NAME, FALLBACK_DESCRIPTION)
        surface = [_surface_form(term, inside) for term in own]
        name = _capitalise_first(_join_terms(surface))
        neighbours = self._pick_terms(
            -scores,
            (outside_counts >= self.min_term_documents) & ~self._blocked & ~self._is_phrase,
        )[:2]
        if neighbours:
            description = (
                f"Requests that mention {_join_terms(surface)} more often than the nearest "
                f"other topics, which centre on "
                f"{_join_terms([_surface_form(term, outside) for term in neighbours])}."
            )
        else:
            description = f"Requests that mostly mention {_join_terms(surface)}."
        return ClusterLabel(name, description)


def _verbatim(term: str, texts: Sequence[str]) -> bool:
    """Return whether the words of term occur next to each other in one of texts."""
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, term.split())) + r"\b", re.IGNORECASE)
    return any(pattern.search(text) for text in texts)


def _surface_form(term: str, texts: Sequence[str]) -> str:
    """Return the most common spelling of a lower-cased term in texts (its casing kept).

    A proper noun keeps its capital this way, so the auditor still detects it.
    """
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, term.split())) + r"\b", re.IGNORECASE)
    forms: Counter[str] = Counter()
    for text in texts:
        for match in pattern.finditer(text):
            form = re.sub(r"\s+", " ", match.group())
            # A capital at the start of a sentence says nothing about the word.
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
