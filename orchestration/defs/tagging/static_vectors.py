"""Static word vectors distilled from the embedding model, for fast offline tagging.

Each word of a fixed vocabulary is embedded once by the transformer (multilingual-e5-small,
see embedding.py). A text then becomes the IDF-weighted mean of the vectors of its known
words. This follows the idea of model2vec (static vectors distilled from a sentence
encoder) at word level, because the engine does not expose its sub-word tokenizer. Encoding is then a sparse matrix product, thousands of
texts per second, against tens per second for the transformer.

Static vectors cost accuracy: on the development conversations the SOC major group was
right 47 % of the time (39 % without the group classifier of semantic.py) against 54 %
with the transformer (see docs/offline-tagger.md).

The vocabulary is the words of reference texts only (task statements and labelled
examples), so the word vectors go through `embedding.cached_encode` into the data folder
and never hold conversation text. Words outside the vocabulary are ignored; a text with no
known word gets a zero vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from orchestration.defs.tagging import embedding

MODEL_NAME = f"{embedding.MODEL_NAME}, static word vectors"
# Words of two or more letters, in any script; digits and punctuation carry no topic.
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
# Upper bound of the vocabulary, the most frequent words first. It bounds the cold start,
# which embeds every word once with the transformer.
MAX_VOCABULARY = 12_000
# Prefix the words are embedded with; both sides of every comparison are static means.
WORD_KIND = "query"
# Characters read per text. Encoding is cheap, so this is much longer than the
# transformer's limit and only bounds the cost of a pasted document.
MAX_CHARS = 4000


class StaticEncoder:
    """Word vectors and IDF weights built from reference texts, cached between runs."""

    def __init__(self, reference_texts: Sequence[str], cache_dir: Path) -> None:
        counter = CountVectorizer(
            token_pattern=TOKEN_PATTERN, binary=True, max_features=MAX_VOCABULARY
        )
        document_words = counter.fit_transform(reference_texts)
        words = counter.get_feature_names_out().tolist()
        if not words:
            raise ValueError("no words in the reference texts to build static vectors from")
        self._vectorizer = CountVectorizer(
            token_pattern=TOKEN_PATTERN, vocabulary={word: i for i, word in enumerate(words)}
        )
        document_frequency = np.asarray(document_words.sum(axis=0)).ravel()
        self._idf = np.log((1 + len(reference_texts)) / (1 + document_frequency)) + 1.0
        # The mean word vector is kept: removing it lowered the SOC major group accuracy on
        # the development conversations from 40 % to 33 %.
        vectors = embedding.cached_encode(words, cache_dir, kind=WORD_KIND).astype(np.float32)
        self._weighted_vectors = (vectors * self._idf[:, None].astype(np.float32)).astype(
            np.float32
        )
        self.vocabulary_size = len(words)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into unit-length float32 rows; a text with no known word gives zeros."""
        counts = self._vectorizer.transform([text[:MAX_CHARS] for text in texts])
        # Sub-linear term frequency, as in TF-IDF, so a repeated word does not dominate.
        counts.data = 1.0 + np.log(counts.data.astype(np.float32))
        output = np.asarray(counts @ self._weighted_vectors, dtype=np.float32)
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return output / np.maximum(norms, 1e-12)
