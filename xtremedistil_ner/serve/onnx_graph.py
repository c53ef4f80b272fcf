"""The student's emissions as an ONNX graph built from its weights (NumPy and ``onnx`` only, no tracing).

Inputs are dense: ``piece_ids (batch, seq, pieces)`` and ``piece_counts (batch, seq)``, words left-aligned, and
``word_shapes (batch, seq)`` for a student with a word-shape table.
Each BiLSTM layer is one bidirectional ONNX ``LSTM`` node fed the sentence lengths (``sequence_lens``): the
backward direction starts at each sentence's last word, so padding never leaks into real words, and no
reversing gathers are needed. The graph runs time-major from the embedding to the emission layer, with one
transpose at each end. ONNX Runtime then spends its time in the LSTMs (docs/RESULTS.md, "One bidirectional
LSTM node per layer").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

# PyTorch stacks an LSTM's gates as (input, forget, cell, output); ONNX as (input, output, forget, cell)
_TORCH_TO_ONNX_GATES = (0, 3, 1, 2)


@dataclass(frozen=True)
class LstmDirection:
    """One direction of one BiLSTM layer, in PyTorch's layout.

    Attributes:
        weight_ih: ``(4 * hidden, input)``; weight_hh: ``(4 * hidden, hidden)``; bias_ih, bias_hh: ``(4 * hidden,)``.
    """

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray


@dataclass(frozen=True)
class StudentWeights:
    """Everything the emissions graph needs, as float32 arrays.

    Attributes:
        embedding: ``(vocab, embedding_dim)``, a word is the mean of its pieces' rows.
        layers: per BiLSTM layer, bottom first, its ``(forward, backward)`` directions.
        emission_weight: ``(num_tags, 2 * hidden)``; emission_bias: ``(num_tags,)``.
        shape_embedding: ``(n_shapes, shape_dim)`` word-shape table, concatenated after the pieces' mean; or None.
    """

    embedding: np.ndarray
    layers: tuple[tuple[LstmDirection, LstmDirection], ...]
    emission_weight: np.ndarray
    emission_bias: np.ndarray
    shape_embedding: np.ndarray | None = None


def _gates(matrix: np.ndarray) -> np.ndarray:
    """PyTorch gate order -> ONNX gate order along the first axis."""
    blocks = np.split(matrix, 4, axis=0)
    return np.concatenate([blocks[i] for i in _TORCH_TO_ONNX_GATES], axis=0)


def _lstm_initializers(index: int, layer: tuple[LstmDirection, LstmDirection]) -> list[onnx.TensorProto]:
    """``W (2, 4H, in)``, ``R (2, 4H, H)`` and ``B (2, 8H)`` of one bidirectional ONNX LSTM."""
    w = np.stack([_gates(d.weight_ih) for d in layer])
    r = np.stack([_gates(d.weight_hh) for d in layer])
    b = np.stack([np.concatenate([_gates(d.bias_ih), _gates(d.bias_hh)]) for d in layer])
    return [
        numpy_helper.from_array(a.astype(np.float32), f"lstm{index}.{name}")
        for name, a in (("W", w), ("R", r), ("B", b))
    ]


def emissions_graph(weights: StudentWeights) -> onnx.ModelProto:
    """``(piece_ids, piece_counts[, word_shapes]) -> emissions (batch, seq, num_tags)``; padding rows meaningless."""
    hidden = weights.layers[0][0].weight_hh.shape[1]
    num_tags = weights.emission_weight.shape[0]
    init = [
        numpy_helper.from_array(weights.embedding.astype(np.float32), "embedding"),
        numpy_helper.from_array(np.ascontiguousarray(weights.emission_weight.T, np.float32), "emission_weight"),
        numpy_helper.from_array(weights.emission_bias.astype(np.float32), "emission_bias"),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([3], np.int64), "axis3"),
        numpy_helper.from_array(np.array([0, 0, -1], np.int64), "merge_directions"),
    ]
    n = helper.make_node
    nodes = [
        # shape: (batch, seq, pieces), True at each word's real pieces
        n("Shape", ["piece_ids"], ["ids_shape"], start=2, end=3),
        n("Squeeze", ["ids_shape"], ["n_pieces"]),
        n("Range", ["zero", "n_pieces", "one"], ["slots"]),
        n("Unsqueeze", ["piece_counts", "axis2"], ["counts3"]),
        n("Less", ["slots", "counts3"], ["real_piece"]),
        n("Cast", ["real_piece"], ["piece_weight"], to=TensorProto.FLOAT),
        # shape: (batch, seq, pieces, embedding_dim) -> (batch, seq, embedding_dim), the mean over real pieces
        n("Max", ["piece_ids", "zero"], ["safe_ids"]),
        n("Gather", ["embedding", "safe_ids"], ["piece_vectors"]),
        n("Unsqueeze", ["piece_weight", "axis3"], ["piece_weight4"]),
        n("Mul", ["piece_vectors", "piece_weight4"], ["kept"]),
        n("ReduceSum", ["kept", "axis2"], ["summed"], keepdims=0),
        n("Max", ["counts3", "one"], ["divisor_int"]),
        n("Cast", ["divisor_int"], ["divisor"], to=TensorProto.FLOAT),
        n("Div", ["summed", "divisor"], ["words"]),
    ]
    inputs = [
        helper.make_tensor_value_info("piece_ids", TensorProto.INT64, ["batch", "seq", "pieces"]),
        helper.make_tensor_value_info("piece_counts", TensorProto.INT64, ["batch", "seq"]),
    ]
    words = "words"
    if weights.shape_embedding is not None:
        init.append(numpy_helper.from_array(weights.shape_embedding.astype(np.float32), "shape_embedding"))
        inputs.append(helper.make_tensor_value_info("word_shapes", TensorProto.INT64, ["batch", "seq"]))
        # shape: (batch, seq, embedding_dim + shape_dim)
        nodes += [
            n("Gather", ["shape_embedding", "word_shapes"], ["shape_vectors"]),
            n("Concat", ["words", "shape_vectors"], ["words_shaped"], axis=2),
        ]
        words = "words_shaped"
    nodes += [
        # time-major from here: (seq, batch, features)
        n("Transpose", [words], ["x0"], perm=[1, 0, 2]),
        n("Greater", ["piece_counts", "zero"], ["real_word"]),
        n("Cast", ["real_word"], ["real_word_int"], to=TensorProto.INT32),
        n("ReduceSum", ["real_word_int", "axis1"], ["lengths"], keepdims=0),
    ]
    x = "x0"
    for i, layer in enumerate(weights.layers):
        init += _lstm_initializers(i, layer)
        nodes += [
            # Y: (seq, 2, batch, hidden), zero past each sentence's length
            n(
                "LSTM",
                [x, f"lstm{i}.W", f"lstm{i}.R", f"lstm{i}.B", "lengths"],
                [f"lstm{i}.Y"],
                direction="bidirectional",
                hidden_size=hidden,
            ),
            n("Transpose", [f"lstm{i}.Y"], [f"lstm{i}.Yt"], perm=[0, 2, 1, 3]),
            # shape: (seq, batch, 2 * hidden), forward then backward as PyTorch concatenates them
            n("Reshape", [f"lstm{i}.Yt", "merge_directions"], [f"x{i + 1}"]),
        ]
        x = f"x{i + 1}"
    nodes += [
        n("MatMul", [x, "emission_weight"], ["scores_tm"]),
        n("Add", ["scores_tm", "emission_bias"], ["emissions_tm"]),
        n("Transpose", ["emissions_tm"], ["emissions"], perm=[1, 0, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "student_emissions",
        inputs,
        [helper.make_tensor_value_info("emissions", TensorProto.FLOAT, ["batch", "seq", num_tags])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="xtremedistil_ner")
    model.ir_version = 8  # readable by every ONNX Runtime this package supports (>= 1.18)
    onnx.checker.check_model(model)
    return model
