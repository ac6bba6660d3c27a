"""Sentence embedders for summaries, behind one protocol and one factory."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

EMBEDDERS = ("tfidf-svd", "e5-small", "auto")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text.

    `name` identifies the vectors: two embedders with the same name must return the same
    vector for the same text, because stored vectors are reused by name and text hash.
    `fit` is called once per run with the texts to be encoded; an embedder with fixed
    weights ignores it.
    """

    @property
    def name(self) -> str: ...

    def fit(self, texts: Sequence[str]) -> None: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length; an all-zero row stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class TfidfSvdEmbedder:
    """TF-IDF over word unigrams and bigrams, reduced by truncated SVD (latent semantic analysis).

    The vectors depend on the texts it was fitted on, so its name carries a fingerprint of
    them: stored vectors are reused only while the set of fitted texts is unchanged.
    Fitting reads at most `max_fit_texts` texts, taken in text-hash order.
    """

    def __init__(self, dimensions: int = 128, max_fit_texts: int = 50_000, seed: int = 0):
        self.dimensions = dimensions
        self.max_fit_texts = max_fit_texts
        self.seed = seed
        self._fingerprint: str | None = None
        self._vectorizer = None
        self._svd = None

    @property
    def name(self) -> str:
        if self._fingerprint is None:
            raise RuntimeError("TfidfSvdEmbedder.fit must run before its name is known")
        return f"tfidf-svd-{self.dimensions}-{self._fingerprint}"

    def fit(self, texts: Sequence[str]) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        by_hash = sorted({text_sha256(text): text for text in texts}.items())
        sample = [text for _digest, text in by_hash[: self.max_fit_texts]]
        digest = hashlib.sha256()
        for text_hash, _text in by_hash[: self.max_fit_texts]:
            digest.update(text_hash.encode())
        self._fingerprint = digest.hexdigest()[:16]
        self._vectorizer = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2 if len(sample) >= 50 else 1,
            max_features=50_000,
            stop_words="english",
            sublinear_tf=True,
            dtype=np.float32,
        )
        try:
            matrix = self._vectorizer.fit_transform(sample)
        except ValueError:
            # Nothing but stop words or empty texts: every vector will be zero.
            self._vectorizer = None
            return
        # SVD needs fewer components than both sides of the matrix.
        components = min(self.dimensions, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if components >= 1:
            self._svd = TruncatedSVD(n_components=components, random_state=self.seed)
            # Identical texts have zero variance, which makes the explained-variance ratio
            # divide by zero; that ratio is never used here.
            with np.errstate(invalid="ignore", divide="ignore"):
                self._svd.fit(matrix)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._fingerprint is None:
            raise RuntimeError("TfidfSvdEmbedder.fit must run before encode")
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if self._vectorizer is None or not texts:
            return vectors
        matrix = self._vectorizer.transform(texts)
        if self._svd is None:
            dense = matrix.toarray()[:, : self.dimensions]
        else:
            dense = self._svd.transform(matrix)
        vectors[:, : dense.shape[1]] = dense
        return normalise_rows(vectors)


class LocalModelEmbedder:
    """Sentence embeddings from the local e5-small model of the tagging stage.

    The weights ship inside the model package, so the vectors of a text never change and
    stored vectors are reused across runs. Summaries are embedded as e5 "query" texts.
    """

    def __init__(self) -> None:
        from orchestration.defs.tagging import embedding

        self._embedding = embedding

    @property
    def name(self) -> str:
        return "e5-small-q4"

    def fit(self, texts: Sequence[str]) -> None:
        """Do nothing: the weights are fixed."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._embedding.DIMENSION), dtype=np.float32)
        return normalise_rows(self._embedding.encode(texts, kind="query"))


def build_embedder(name: str, *, seed: int = 0) -> Embedder:
    """Return the embedder called name.

    "tfidf-svd" needs no model. "e5-small" needs the model package of the tagging stage.
    "auto" takes "e5-small" when that package is installed, and "tfidf-svd" otherwise.
    """
    if name == "auto":
        from orchestration.defs.tagging.embedding import available

        name = "e5-small" if available() else "tfidf-svd"
    if name == "e5-small":
        return LocalModelEmbedder()
    if name == "tfidf-svd":
        return TfidfSvdEmbedder(seed=seed)
    raise ValueError(f"unknown embedder {name!r}; use one of {', '.join(EMBEDDERS)}")
