"""ONNX export of the student (emissions graph + the CRF's scores as JSON) and int8 quantization.

Layout written into ``STUDENT/onnx/``: ``model.onnx`` (float32), ``model.int8.onnx`` (dynamic int8,
per-channel weights of the LSTMs and the emission layer; the embedding table stays float32), ``crf.json``
(start / transition / end scores with the IOB2 constraints applied). Decoding runs in NumPy
(:mod:`xtremedistil_ner.runtime.crf`); :mod:`xtremedistil_ner.runtime.onnx` serves the export without torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from xtremedistil_ner.atomic_files import atomic_write, write_json
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.runtime.onnx import require_onnxruntime
from xtremedistil_ner.student.bilstm import direction_weights
from xtremedistil_ner.student.model import StudentTagger

if TYPE_CHECKING:  # onnx is an optional dependency: imported where an export starts
    from xtremedistil_ner.serve.onnx_graph import LstmDirection, StudentWeights

# The embedding Gather stays float32: quantizing it cost 0.15 points of entity agreement with PyTorch on the 39
# WikiANN test sets (99.36% -> 99.54% without it, per-channel LSTM/MatMul weights) and saves no time.
INT8_OPS = ["MatMul", "LSTM"]


@dataclass(frozen=True)
class Exported:
    """Paths written by :func:`export_onnx`."""

    model: Path
    int8: Path | None
    crf: Path


def _direction(lstm: nn.LSTM, suffix: str) -> LstmDirection:
    """One direction (``""`` forward, ``"_reverse"`` backward) of a one-layer bidirectional LSTM."""
    from xtremedistil_ner.serve.onnx_graph import LstmDirection

    return LstmDirection(*(w.detach().cpu().numpy() for w in direction_weights(lstm, suffix)))


def student_weights(model: StudentTagger) -> StudentWeights:
    """The arrays of ``model`` that its emissions graph needs."""
    from xtremedistil_ner.serve.onnx_graph import StudentWeights

    layers = []
    for lstm in model.lstm:
        assert isinstance(lstm, nn.LSTM) and lstm.bidirectional and lstm.num_layers == 1
        layers.append((_direction(lstm, ""), _direction(lstm, "_reverse")))
    head = model.head.emissions
    return StudentWeights(
        model.embedding.weight.detach().cpu().numpy(),
        tuple(layers),
        head.weight.detach().cpu().numpy(),
        head.bias.detach().cpu().numpy(),
        None if model.shape is None else model.shape.weight.detach().cpu().numpy(),
    )


def export_onnx(model: StudentTagger, out: Path, int8: bool = True) -> Exported:
    """Export ``model``'s emissions to ``out/model.onnx`` (and ``model.int8.onnx``), and its CRF to ``crf.json``."""
    require_onnxruntime()
    try:
        import onnx

        from xtremedistil_ner.serve.onnx_graph import emissions_graph
    except ImportError:
        raise XdnerError("ONNX export needs onnx: pip install 'xtremedistil_ner[export]'") from None
    graph = emissions_graph(student_weights(model))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "model.onnx", lambda tmp: onnx.save(graph, str(tmp)))
    write_json(out / "crf.json", model.head.crf.export_scores().to_dict())
    quantized = None
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = out / "model.int8.onnx"
        logging.disable(logging.WARNING)  # its root-logger advice to pre-process would land among our lines
        try:
            atomic_write(
                quantized,
                lambda tmp: quantize_dynamic(
                    str(out / "model.onnx"),
                    str(tmp),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    op_types_to_quantize=INT8_OPS,
                ),
            )
        finally:
            logging.disable(logging.NOTSET)
    return Exported(out / "model.onnx", quantized, out / "crf.json")
