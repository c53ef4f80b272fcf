"""ONNX export of the student (emissions graph + the CRF's scores as JSON), int8 quantization, ONNX Runtime backend.

Layout written into ``STUDENT/onnx/``: ``model.onnx`` (float32), ``model.int8.onnx`` (dynamic int8,
per-channel weights of the LSTMs and the emission layer; the embedding table stays float32), ``crf.json``
(start / transition / end scores with the IOB2 constraints applied). Decoding runs in NumPy
(:mod:`xtremedistil_ner.serve.crf_numpy`), so a deployment needs onnxruntime, numpy and the tokenizer only.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xtremedistil_ner.atomic_files import atomic_write, write_json
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.serve.crf_numpy import CrfScores, crf_scores, decode_with_scores
from xtremedistil_ner.serve.exportable import ExportableEmissions, dense_inputs
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import Featurized

OPSET = 17
# The embedding Gather stays float32: quantizing it cost 0.15 points of entity agreement with PyTorch on the 39
# WikiANN test sets (99.36% -> 99.54% without it, per-channel LSTM/MatMul weights) and saves no time.
INT8_OPS = ["MatMul", "LSTM"]


@dataclass(frozen=True)
class Exported:
    """Paths written by :func:`export_onnx`."""

    model: Path
    int8: Path | None
    crf: Path


def _require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise XdnerError("ONNX needs onnxruntime: pip install 'xtremedistil_ner[export]'") from None
    return onnxruntime


def export_onnx(model: StudentTagger, out: Path, int8: bool = True) -> Exported:
    """Export ``model``'s emissions to ``out/model.onnx`` (and ``model.int8.onnx``), and its CRF to ``crf.json``."""
    _require_onnxruntime()
    graph = ExportableEmissions(model.cpu().eval())
    # a sample with distinct batch / seq / pieces sizes; all three axes are dynamic
    sample = (torch.ones(2, 5, 3, dtype=torch.long), torch.tensor([[1, 2, 3, 1, 1], [2, 1, 0, 0, 0]]))
    out.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            # the TorchScript exporter is deprecated in favour of torch.export, which specialises the seq axis of
            # this graph's output shape; this one keeps every axis dynamic and matches PyTorch to 1e-7
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")  # h0/c0 are built per batch
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # nn.LSTM's shape checks, constant per graph
            torch.onnx.export(
                graph,
                sample,
                str(tmp),
                input_names=["piece_ids", "piece_counts"],
                output_names=["emissions"],
                dynamic_axes={
                    "piece_ids": {0: "batch", 1: "seq", 2: "pieces"},
                    "piece_counts": {0: "batch", 1: "seq"},
                    "emissions": {0: "batch", 1: "seq"},
                },
                opset_version=OPSET,
                dynamo=False,
            )

    atomic_write(out / "model.onnx", write)
    write_json(out / "crf.json", crf_scores(model.head.crf).to_dict())
    quantized = None
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = out / "model.int8.onnx"
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
    return Exported(out / "model.onnx", quantized, out / "crf.json")


class OnnxBackend:
    """ONNX Runtime emissions + NumPy CRF: the :class:`~xtremedistil_ner.serve.predict.Backend` of an export.

    Args:
        model: ``model.onnx`` or ``model.int8.onnx``.
        lookup: tokenizer id -> student id (from the student directory).
        threads: intra-op threads (0: ONNX Runtime's default).
    """

    def __init__(self, model: Path, lookup: np.ndarray, threads: int = 0) -> None:
        ort = _require_onnxruntime()
        crf_path = model.parent / "crf.json"
        if not model.is_file() or not crf_path.is_file():
            raise XdnerError(f"{model.parent}: no exported student (run: xdner export STUDENT)")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # no busy-waiting between runs: spinning intra-op threads steal the CPU from the tokenizer and the
        # NumPy decoder that run between two model calls (the whole text -> entities path got slower)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.crf = CrfScores.from_dict(json.loads(crf_path.read_text(encoding="utf-8")))
        self.lookup = lookup

    def emissions(self, features: Featurized, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(batch, seq, num_tags)`` emissions and ``(batch,)`` lengths of sentences ``ids``."""
        pieces, counts = dense_inputs(features, self.lookup, list(ids))
        (emissions,) = self.session.run(None, {"piece_ids": pieces, "piece_counts": counts})
        return emissions, (counts > 0).sum(1)

    def tag(self, features: Featurized, ids: Sequence[int]) -> list[tuple[list[int], list[float]]]:
        """Viterbi paths and the marginal of each chosen tag."""
        emissions, lengths = self.emissions(features, ids)
        return decode_with_scores(emissions, lengths, self.crf)
